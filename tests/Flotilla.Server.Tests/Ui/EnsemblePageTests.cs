using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Flotilla.Server.Tests.Datasets;
using Microsoft.Playwright;

namespace Flotilla.Server.Tests.Ui;

/// <summary>An ensemble made by the built-in pipeline on a real server: served as one model, its members listed on the package page.</summary>
public sealed class EnsemblePageTests(RunningServer server, BrowserSession browser) : IClassFixture<RunningServer>, IClassFixture<BrowserSession>
{
    [Fact]
    public async Task An_ensemble_version_lists_its_members_and_weights_on_its_package_page()
    {
        var imports = Directory.CreateDirectory(Path.Combine(server.DataDirectory, "imports")).FullName;
        var csv = Path.Combine(imports, "ens-bc.csv");
        File.Copy(SharedDatasets.Path("breast-cancer.csv"), csv, overwrite: true);
        using var dataset = await server.Client.PostAsJsonAsync("/api/datasets", new { name = "ensemble-bc", path = csv, target = "CLASS" });
        Assert.Equal(HttpStatusCode.Created, dataset.StatusCode);
        var parameters = new JsonObject
        {
            ["DatasetName"] = "ensemble-bc", ["MaxTuningJobs"] = 8, ["MaxTuningParallelJobs"] = 2, ["CrossValidationFolds"] = 3,
            ["Algorithms"] = "NaiveBayes,LogisticRegression,LightGBM", ["EnsembleSize"] = 20,
        };

        using var start = await server.Client.PostAsJsonAsync("/api/pipelines/multimodel/executions", new JsonObject { ["parameters"] = parameters });
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var id = (string)(await start.Content.ReadFromJsonAsync<JsonObject>())!["executionId"]!;
        var deadline = DateTime.UtcNow.AddSeconds(180);
        JsonObject execution;
        while ((string?)(execution = (await server.Client.GetFromJsonAsync<JsonObject>($"/api/executions/{id}"))!)["status"] is not ("Succeeded" or "Failed" or "Stopped"))
        {
            Assert.True(DateTime.UtcNow < deadline, $"execution {id} is still {execution["status"]}");
            await Task.Delay(50);
        }

        Assert.Equal("Succeeded", (string?)execution["status"]);
        var package = (await server.Client.GetFromJsonAsync<JsonObject>("/api/registry/packages/multimodel-ensemble-bc-v1"))!;
        var members = package["evaluationReport"]!["ensemble"]!.AsArray();
        Assert.True(members.Count > 1);

        var (page, errors) = await browser.OpenAsync(server);
        await page.GotoAsync("/#/registry/packages/multimodel-ensemble-bc-v1");
        await Assertions.Expect(page.GetByTestId("ensemble")).ToContainTextAsync($"Ensemble of {members.Count}");
        await Assertions.Expect(page.GetByTestId("ensemble").Locator("tbody tr")).ToHaveCountAsync(members.Count);
        await Assertions.Expect(page.GetByTestId("ensemble")).ToContainTextAsync($"#{(int)members[0]!["trial"]!}");
        await BrowserSession.ScreenshotAsync(page, "package-ensemble");
        Assert.Empty(errors);
    }
}
