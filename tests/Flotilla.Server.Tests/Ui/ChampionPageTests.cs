using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Flotilla.Fleet;
using Flotilla.Server.Tests.Datasets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Flotilla.Server.Tests.Ui;

/// <summary>
/// The champion gate on a real server: the champion is what its alias map serves (no registry shortcut),
/// executions go through the HTTP API, and the package page draws both ROC curves.
/// </summary>
public sealed class ChampionPageTests(RunningServer server, BrowserSession browser) : IClassFixture<RunningServer>, IClassFixture<BrowserSession>
{
    private const string Group = "multimodel-champion-bc";

    [Fact]
    public async Task A_challenger_is_scored_against_the_served_version_refused_when_worse_and_drawn_beside_it_when_registered()
    {
        var imports = Directory.CreateDirectory(Path.Combine(server.DataDirectory, "imports")).FullName;
        var csv = Path.Combine(imports, "bc.csv");
        File.Copy(SharedDatasets.Path("breast-cancer.csv"), csv, overwrite: true);
        using var dataset = await server.Client.PostAsJsonAsync("/api/datasets", new { name = "champion-bc", path = csv, target = "CLASS" });
        Assert.Equal(HttpStatusCode.Created, dataset.StatusCode);
        var common = new JsonObject { ["DatasetName"] = "champion-bc", ["MaxTuningJobs"] = 2, ["CrossValidationFolds"] = 3, ["Algorithms"] = "LogisticRegression", ["MetricForRegistrationThreshold"] = "accuracy" };

        var first = await RunAsync(With(common, ("RegisterModelApprovalStatus", "Approved")));
        Assert.Equal("Succeeded", (string?)first["status"]);
        var fleet = server.Services.GetRequiredService<FleetClient>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!fleet.TryGetDeployment(Group, out _))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{Group} v1 was not deployed within 30 s of its approval.");
            await Task.Delay(20);
        }
        var worse = await RunAsync(With(common, ("DecisionThreshold", 0.01), ("MinThresholdForRegisterMetric", 0.5), ("MinImprovementOverServed", 0)));
        var second = await RunAsync(With(common, ("DecisionThreshold", "balanced_accuracy")));

        Assert.Equal("Failed", (string?)worse["status"]);
        Assert.Matches(@"^Not registered: accuracy = 0\.\d+ on the test set is not at least MinImprovementOverServed = 0 above the served version 1's 0\.\d+ on the same rows\.$", (string?)worse["failureReason"]);
        Assert.Equal("Succeeded", (string?)second["status"]);
        var package = (await server.Client.GetFromJsonAsync<JsonObject>($"/api/registry/packages/{Group}-v2"))!;
        Assert.Equal(1, (int)package["evaluationReport"]!["champion"]!["version"]!);

        var (page, errors) = await browser.OpenAsync(server);
        await page.GotoAsync($"/#/registry/packages/{Group}-v2");
        await Assertions.Expect(page.GetByTestId("roc-curve")).ToContainTextAsync("served v1 · AUC");
        await Assertions.Expect(page.GetByTestId("roc-curve")).ToContainTextAsync("this version · AUC");
        await Assertions.Expect(page.GetByTestId("champion")).ToContainTextAsync("Challenger vs champion (served v1)");
        await Assertions.Expect(page.GetByTestId("champion").Locator("tbody tr")).ToHaveCountAsync(5);
        await Assertions.Expect(page.GetByTestId("decision-threshold")).ToContainTextAsync("balanced accuracy");
        await BrowserSession.ScreenshotAsync(page, "package-challenger-vs-champion");
        Assert.Empty(errors);
    }

    private static JsonObject With(JsonObject common, params (string Name, JsonNode? Value)[] more)
    {
        var parameters = common.DeepClone().AsObject();
        foreach (var (name, value) in more)
        {
            parameters[name] = value;
        }
        return parameters;
    }

    private async Task<JsonObject> RunAsync(JsonObject parameters)
    {
        using var start = await server.Client.PostAsJsonAsync("/api/pipelines/multimodel/executions", new JsonObject { ["parameters"] = parameters });
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var id = (string)(await start.Content.ReadFromJsonAsync<JsonObject>())!["executionId"]!;
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            var execution = (await server.Client.GetFromJsonAsync<JsonObject>($"/api/executions/{id}"))!;
            if ((string?)execution["status"] is "Succeeded" or "Failed" or "Stopped")
            {
                return execution;
            }
            Assert.True(DateTime.UtcNow < deadline, $"execution {id} is still {execution["status"]}");
            await Task.Delay(50);
        }
    }
}
