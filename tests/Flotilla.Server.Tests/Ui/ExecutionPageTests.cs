using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Flotilla.Cli.Demo;
using Microsoft.Playwright;

namespace Flotilla.Server.Tests.Ui;

public sealed class ExecutionPageTests(RunningServer server, BrowserSession browser) : IClassFixture<RunningServer>, IClassFixture<BrowserSession>
{
    [Fact]
    public async Task The_execution_page_draws_the_graph_live_with_the_trials_and_the_best_so_far_chart()
    {
        var dataset = ExampleDatasets.Churn(9);
        var csv = Path.Combine(server.DataDirectory, "imports", "ui-churn.csv");
        await File.WriteAllTextAsync(csv, dataset.Csv);
        (await server.Client.PostAsJsonAsync("/api/datasets", new { name = "ui-churn", path = csv, target = "churned", exclude = new[] { "customer_id" } })).EnsureSuccessStatusCode();
        // Parameter names are case-sensitive: a dictionary keeps them as written (an anonymous type would be camelCased).
        var parameters = new Dictionary<string, object> { ["DatasetName"] = "ui-churn", ["MaxTuningJobs"] = 6, ["CrossValidationFolds"] = 2 };
        var started = await server.Client.PostAsJsonAsync("/api/pipelines/multimodel/executions", new { parameters });
        started.EnsureSuccessStatusCode();
        var id = (string)(await started.Content.ReadFromJsonAsync<JsonObject>())!["executionId"]!;
        var (page, errors) = await browser.OpenAsync(server);

        // Opened while the execution runs: the page follows it to the end by itself.
        await page.GotoAsync($"/#/executions/{id}");
        await Assertions.Expect(page.GetByTestId("dag")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("h1 + .badge")).ToHaveAttributeAsync("data-status", "Succeeded", new() { Timeout = 90_000 });

        var steps = (await server.Client.GetFromJsonAsync<JsonObject>($"/api/executions/{id}"))!["steps"]!.AsArray();
        await Assertions.Expect(page.Locator("[data-testid=dag] g[data-step]")).ToHaveCountAsync(steps.Count);
        await Assertions.Expect(page.Locator("[data-testid=dag] g[data-status=Succeeded]")).ToHaveCountAsync(steps.Count(s => (string?)s!["status"] == "Succeeded"));
        await Assertions.Expect(page.Locator("[data-testid=trials] tbody tr")).ToHaveCountAsync(6);
        // Each trial names the silo that ran it (the embedded server's one), and the Tune step's silos are listed with their cores.
        var silo = (await server.Client.GetFromJsonAsync<JsonObject>("/api/endpoint"))!["instances"]![0]!["silo"]!.GetValue<string>();
        await Assertions.Expect(page.Locator("[data-testid=trials] thead")).ToContainTextAsync("Silo");
        var ran = (await server.Client.GetFromJsonAsync<JsonArray>($"/api/executions/{id}/trials"))!.Count(t => (string?)t!["silo"] == silo);
        Assert.True(ran > 0, "trials name the silo that ran them");
        await Assertions.Expect(page.Locator("[data-testid=trials] tbody tr", new() { HasText = silo })).ToHaveCountAsync(ran);
        await Assertions.Expect(page.GetByTestId("tune-silos")).ToContainTextAsync($"{silo} {Environment.ProcessorCount} core");
        await Assertions.Expect(page.GetByTestId("best-so-far")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("main")).ToContainTextAsync("Tuning: 6/6 trials");
        await BrowserSession.ScreenshotAsync(page, "execution");

        await page.GotoAsync("/#/executions");
        var row = page.Locator("main tbody tr", new() { HasText = id });
        await Assertions.Expect(row).ToContainTextAsync("ui-churn");
        await Assertions.Expect(row.Locator(".badge")).ToHaveTextAsync("Succeeded");
        await BrowserSession.ScreenshotAsync(page, "executions");

        await page.GotoAsync("/#/datasets");
        await Assertions.Expect(page.Locator("main table")).ToContainTextAsync("ui-churn");

        Assert.Empty(errors);
    }

    [Fact]
    public async Task Stopping_a_running_execution_from_its_page_ends_it_as_stopped()
    {
        var csv = Path.Combine(server.DataDirectory, "imports", "ui-stop.csv");
        await File.WriteAllTextAsync(csv, ExampleDatasets.Credit(4).Csv);
        (await server.Client.PostAsJsonAsync("/api/datasets", new { name = "ui-stop", path = csv, target = "defaulted" })).EnsureSuccessStatusCode();
        // Fast families only, so the trial running when Stop is clicked ends at once.
        var parameters = new Dictionary<string, object> { ["DatasetName"] = "ui-stop", ["MaxTuningJobs"] = 5000, ["Algorithms"] = "NaiveBayes,LogisticRegression" };
        var started = await server.Client.PostAsJsonAsync("/api/pipelines/multimodel/executions", new { parameters });
        started.EnsureSuccessStatusCode();
        var id = (string)(await started.Content.ReadFromJsonAsync<JsonObject>())!["executionId"]!;
        var (page, errors) = await browser.OpenAsync(server);

        await page.GotoAsync($"/#/executions/{id}");
        await page.GetByTestId("stop").ClickAsync();

        await Assertions.Expect(page.Locator("h1 + .badge")).ToHaveAttributeAsync("data-status", "Stopped", new() { Timeout = 60_000 });
        await Assertions.Expect(page.GetByTestId("stop")).ToHaveCountAsync(0);
        var execution = await server.Client.GetFromJsonAsync<JsonObject>($"/api/executions/{id}");
        Assert.Equal("Stopped", (string?)execution!["status"]);
        await BrowserSession.ScreenshotAsync(page, "execution-stopped");
        Assert.Empty(errors);
    }
}
