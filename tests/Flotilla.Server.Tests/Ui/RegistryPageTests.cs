using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotilla.Cli.Demo;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;
using Flotilla.Registry;
using Flotilla.Storage.Artifacts;
using Flotilla.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Flotilla.Server.Tests.Ui;

public sealed class RegistryPageTests(RunningServer server, BrowserSession browser) : IClassFixture<RunningServer>, IClassFixture<BrowserSession>
{
    [Fact]
    public async Task Approving_a_pending_version_in_the_browser_deploys_it()
    {
        var package = await RegisterPendingPackageAsync("multimodel-ui-churn");
        var (page, errors) = await browser.OpenAsync(server);

        await page.GotoAsync($"/#/registry/packages/{package.Id}");
        await Assertions.Expect(page.GetByTestId("approval-status")).ToContainTextAsync("Pending approval");
        await Assertions.Expect(page.GetByTestId("roc-curve")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("pr-curve")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("confusion-matrix")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("roc-threshold")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("roc-half")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("decision-threshold")).ToContainTextAsync(
            $"≥ {package.EvaluationReport.GetProperty("threshold").GetDouble().ToString("0.0000", System.Globalization.CultureInfo.InvariantCulture)} (chosen to maximise F1 on the winning configuration's out-of-fold predictions). At 0.5: F1 ");
        await Assertions.Expect(page.GetByTestId("deployment-status")).ToContainTextAsync("Not deployed");
        await BrowserSession.ScreenshotAsync(page, "package-pending");

        await page.GetByLabel("Comment").FillAsync("AUC is fine for a pilot");
        await page.GetByTestId("approve").ClickAsync();

        await Assertions.Expect(page.GetByTestId("approval-status")).ToContainTextAsync("Approved");
        await Assertions.Expect(page.GetByTestId("deployment-status")).ToContainTextAsync("Serving", new() { Timeout = 30_000 });
        await BrowserSession.ScreenshotAsync(page, "package-approved-serving");

        var endpoint = await server.Client.GetFromJsonAsync<JsonObject>("/api/endpoint");
        var alias = endpoint!["aliases"]!.AsArray().Single(a => (string)a!["group"]! == package.Group)!;
        Assert.Equal(package.Id, (string)alias["packageId"]!);
        var stored = await server.Client.GetFromJsonAsync<JsonObject>($"/api/registry/packages/{package.Id}");
        Assert.Equal("AUC is fine for a pilot", (string?)stored!["approvalDescription"]);

        await page.GotoAsync("/#/endpoint");
        await Assertions.Expect(page.GetByTestId("aliases")).ToContainTextAsync(package.Group);
        await BrowserSession.ScreenshotAsync(page, "endpoint");

        await page.GotoAsync("/#/registry");
        await Assertions.Expect(page.Locator("main table")).ToContainTextAsync(package.Group);
        await page.GetByRole(AriaRole.Link, new() { Name = package.Group }).ClickAsync();
        await Assertions.Expect(page.Locator("main")).ToContainTextAsync($"The endpoint serves v1 ({package.Id})");
        await BrowserSession.ScreenshotAsync(page, "registry-group");

        Assert.Empty(errors);
    }

    [Fact]
    public async Task Rejecting_in_the_browser_records_the_comment_and_deploys_nothing()
    {
        var package = await RegisterPendingPackageAsync("multimodel-ui-rejected");
        var (page, errors) = await browser.OpenAsync(server);

        await page.GotoAsync($"/#/registry/packages/{package.Id}");
        await page.GetByLabel("Comment").FillAsync("recall too low");
        await page.GetByTestId("reject").ClickAsync();

        await Assertions.Expect(page.GetByTestId("approval-status")).ToContainTextAsync("Rejected");
        await Assertions.Expect(page.GetByTestId("reject")).ToBeDisabledAsync();
        var stored = await server.Client.GetFromJsonAsync<JsonObject>($"/api/registry/packages/{package.Id}");
        Assert.Equal("Rejected", (string?)stored!["approvalStatus"]);
        Assert.Equal("recall too low", (string?)stored["approvalDescription"]);
        var endpoint = await server.Client.GetFromJsonAsync<JsonObject>("/api/endpoint");
        Assert.DoesNotContain(endpoint!["aliases"]!.AsArray(), a => (string)a!["group"]! == package.Group);
        Assert.Empty(errors);
    }

    [Fact]
    public async Task A_version_whose_model_would_not_load_shows_as_a_failed_deployment_on_its_group_page()
    {
        // Other data than the other tests' packages: the same bytes would already be loaded, and nothing would fail.
        var package = await RegisterPendingPackageAsync("multimodel-ui-broken", dataSeed: 6);
        var sha = package.Artifact.Sha256;
        var bytes = await File.ReadAllBytesAsync(StoredArtifacts.PathOf(server.DataDirectory, sha));
        bytes[^1] ^= 0xFF;
        await StoredArtifacts.ReplaceAsync(server.DataDirectory, sha, bytes);
        await server.Services.GetRequiredService<ModelRegistry>().UpdateApprovalStatusAsync(package.Id, ApprovalStatus.Approved, null, "test", CancellationToken.None);
        await Eventually.TrueAsync(
            async () => (await server.Client.GetFromJsonAsync<JsonArray>($"/api/registry/groups/{package.Group}/deployments/failures"))!.Count > 0,
            "the failed deployment is recorded");

        var (page, errors) = await browser.OpenAsync(server);
        await page.GotoAsync($"/#/registry/{package.Group}");

        await Assertions.Expect(page.Locator("main")).ToContainTextAsync("Failed deployments");
        await Assertions.Expect(page.Locator("main")).ToContainTextAsync("SHA-256");
        await Assertions.Expect(page.Locator("main")).ToContainTextAsync("No version is deployed yet");
        await BrowserSession.ScreenshotAsync(page, "registry-group-failed-deployment");
        Assert.Empty(errors);
    }

    /// <summary>
    /// A real model registered as a pipeline's Register step would: fit on the demo's churn data,
    /// evaluate on a held-out split, store the artifact, register it pending approval. Faster than a run.
    /// </summary>
    private async Task<ModelPackage> RegisterPendingPackageAsync(string group, int dataSeed = 5)
    {
        var csv = Path.Combine(server.DataDirectory, group + ".csv");
        await File.WriteAllTextAsync(csv, ExampleDatasets.Churn(dataSeed).Csv);
        var table = TableReader.Read(csv, new CsvOptions("churned") { Exclude = ["customer_id"] }, CancellationToken.None);
        var (train, test) = table.Split(0.2, stratify: true, seed: 42);
        var algorithm = AlgorithmCatalog.Get("LogisticRegression");
        // The cut as the Refit step chooses it: F1 on out-of-fold probabilities of the training rows.
        var outOfFold = CrossValidation.Run(algorithm, HyperParameters.Empty, train, 5, Scorer.RocAuc, 42, null, CancellationToken.None).OutOfFold!;
        var cut = DecisionThreshold.F1.Choose([.. Enumerable.Range(0, train.RowCount).Select(train.Label)], [.. outOfFold]);
        var model = algorithm.Fit(train, HyperParameters.Empty, 42, CancellationToken.None).WithDecisionThreshold(cut, "f1");
        var report = Evaluator.Evaluate(model, test);
        var artifact = await server.Services.GetRequiredService<IArtifactStore>().PutAsync(ModelArtifact.Serialize(model), CancellationToken.None);
        using var reportJson = JsonDocument.Parse(report.ToJson());
        using var parameters = JsonDocument.Parse("""{"algorithm":"LogisticRegression"}""");
        return await server.Services.GetRequiredService<ModelRegistry>().RegisterAsync(
            new RegisterModelPackage(group, artifact, reportJson.RootElement.Clone(), parameters.RootElement.Clone(), new PackageLineage(null, null, table.Sha256)),
            CancellationToken.None);
    }
}
