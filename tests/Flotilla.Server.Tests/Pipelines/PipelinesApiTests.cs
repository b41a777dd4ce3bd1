using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Flotilla.Pipelines.Execution;
using Flotilla.Testing;

namespace Flotilla.Server.Tests.Pipelines;

/// <summary>A server with Process steps switched on: these tests define pipelines with them.</summary>
public sealed class ProcessStepsServer : IAsyncLifetime
{
    public RunningServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await RunningServer.StartAsync($"--{PipelineOptions.AllowProcessStepsSetting}=true");

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

public sealed class PipelinesApiTests(ProcessStepsServer fixture) : IClassFixture<ProcessStepsServer>
{
    private HttpClient Client => fixture.Server.Client;

    private async Task<string> CreateAsync(string yamlAfterName)
    {
        var name = $"p{Guid.NewGuid():N}"[..16];
        using var body = new StringContent($"name: {name}\n{yamlAfterName}", Encoding.UTF8, "application/yaml");
        using var response = await Client.PostAsync("/api/pipelines", body);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return name;
    }

    private async Task<JsonObject> WaitFinishedAsync(string id)
    {
        return await Eventually.ValueAsync(
            async () => (await Client.GetFromJsonAsync<JsonObject>($"/api/executions/{id}"))!,
            execution => execution["status"]!.GetValue<string>() is "Succeeded" or "Failed" or "Stopped",
            $"execution {id} ends", TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task The_built_in_pipeline_is_listed_with_its_parameters()
    {
        var pipelines = (await Client.GetFromJsonAsync<JsonArray>("/api/pipelines"))!;
        var multimodel = pipelines.OfType<JsonObject>().Single(p => p["name"]!.GetValue<string>() == "multimodel");
        Assert.True(multimodel["builtIn"]!.GetValue<bool>());
        var threshold = multimodel["parameters"]!.AsArray().OfType<JsonObject>().Single(p => p["name"]!.GetValue<string>() == "MinThresholdForRegisterMetric");
        Assert.Equal("Float", threshold["type"]!.GetValue<string>());
        Assert.Equal(0.7, threshold["default"]!.GetValue<double>());
        Assert.Equal("MinThesholdForRegisterMetric", threshold["aliases"]![0]!.GetValue<string>());

        var detail = (await Client.GetFromJsonAsync<JsonObject>("/api/pipelines/multimodel"))!;
        Assert.Contains("type: Tune", detail["source"]!.GetValue<string>());
        var register = detail["steps"]!.AsArray().OfType<JsonObject>().Single(s => s["name"]!.GetValue<string>() == "Register");
        Assert.Contains("CheckChampion", register["dependsOn"]!.AsArray().Select(d => d!.GetValue<string>()));
        var champion = detail["steps"]!.AsArray().OfType<JsonObject>().Single(s => s["name"]!.GetValue<string>() == "CheckChampion");
        Assert.Contains("CheckMetric", champion["dependsOn"]!.AsArray().Select(d => d!.GetValue<string>()));
    }

    [Fact]
    public async Task An_invalid_definition_is_refused_with_problem_details_naming_each_place()
    {
        using var body = new StringContent("""
            name: broken
            steps:
              - { name: a, type: Teleport }
              - { name: b, type: Process, command: [sh, -c, "true"], inputs: { x: { parameter: Missing } } }
            """, Encoding.UTF8, "application/yaml");
        using var response = await Client.PostAsync("/api/pipelines", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        var errors = problem["errors"]!.AsArray().OfType<JsonObject>().ToDictionary(e => e["where"]!.GetValue<string>(), e => e["message"]!.GetValue<string>());
        Assert.Contains("Unknown step type 'Teleport'", errors["steps[a].type"]);
        Assert.Contains("Unknown parameter 'Missing'", errors["steps[b].inputs.x"]);
        Assert.Equal(HttpStatusCode.NotFound, (await Client.GetAsync("/api/pipelines/broken")).StatusCode);
    }

    [Fact]
    public async Task An_execution_starts_with_202_runs_and_is_listed_and_its_events_stream_to_the_end()
    {
        var pipeline = await CreateAsync("""
            parameters:
              - { name: Greeting, type: string, default: hi }
            steps:
              - { name: say, type: Process, command: [sh, -c, 'sleep 0.3; echo "$FLOTILLA_PARAM_GREETING"'] }
              - { name: check, type: Condition, condition: { eq: [{ step: say, output: exitCode }, 0] } }
            """);

        using var start = await Client.PostAsJsonAsync($"/api/pipelines/{pipeline}/executions", new { parameters = new { Greeting = "ahoy" } });
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var id = (await start.Content.ReadFromJsonAsync<JsonObject>())!["executionId"]!.GetValue<string>();
        Assert.Equal($"/api/executions/{id}", start.Headers.Location!.OriginalString);

        using var events = await Client.GetAsync($"/api/executions/{id}/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", events.Content.Headers.ContentType!.MediaType);
        var stream = await events.Content.ReadAsStringAsync();
        var execution = await WaitFinishedAsync(id);

        Assert.Equal("Succeeded", execution["status"]!.GetValue<string>());
        var say = execution["steps"]!.AsArray().OfType<JsonObject>().First();
        Assert.Equal("say", say["name"]!.GetValue<string>());
        Assert.Contains("ahoy", say["log"]!.GetValue<string>());
        Assert.NotNull(say["startedAt"]);
        Assert.StartsWith("event: snapshot", stream);
        Assert.Contains("event: step", stream);
        Assert.Contains("\"status\":\"Succeeded\"", stream[stream.LastIndexOf("event: snapshot", StringComparison.Ordinal)..]);
        var list = (await Client.GetFromJsonAsync<JsonArray>($"/api/executions?pipeline={pipeline}"))!;
        Assert.Equal(id, Assert.Single(list)!["id"]!.GetValue<string>());
        Assert.Empty((await Client.GetFromJsonAsync<JsonArray>($"/api/executions/{id}/trials"))!);
    }

    [Fact]
    public async Task Bad_parameters_and_unknown_pipelines_are_refused_with_names()
    {
        using var bad = await Client.PostAsJsonAsync("/api/pipelines/multimodel/executions",
            new JsonObject { ["parameters"] = new JsonObject { ["DatasetName"] = "x", ["MaxTuningJobs"] = "many", ["Colour"] = "red" } });
        using var unknown = await Client.PostAsJsonAsync("/api/pipelines/nope/executions", new { parameters = new { } });
        using var missing = await Client.GetAsync("/api/executions/nope");

        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var problem = (await bad.Content.ReadFromJsonAsync<JsonObject>())!;
        var where = problem["errors"]!.AsArray().Select(e => e!["where"]!.GetValue<string>()).ToList();
        Assert.Contains("MaxTuningJobs", where);
        Assert.Contains("Colour", where);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("No pipeline named 'nope'", (await unknown.Content.ReadFromJsonAsync<JsonObject>())!["detail"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Stopping_over_http_ends_the_execution_stopped_and_a_second_stop_conflicts()
    {
        var pipeline = await CreateAsync("""
            steps:
              - { name: wait, type: Process, command: [sleep, "60"] }
            """);
        using var start = await Client.PostAsJsonAsync($"/api/pipelines/{pipeline}/executions", new { });
        var id = (await start.Content.ReadFromJsonAsync<JsonObject>())!["executionId"]!.GetValue<string>();
        await Eventually.TrueAsync(
            async () => (await Client.GetFromJsonAsync<JsonObject>($"/api/executions/{id}"))!["steps"]![0]!["status"]!.GetValue<string>() == "Executing",
            "the step is executing");

        using var stop = await Client.PostAsJsonAsync($"/api/executions/{id}/stop", new { });
        var stopped = await WaitFinishedAsync(id);
        using var again = await Client.PostAsJsonAsync($"/api/executions/{id}/stop", new { });

        Assert.Equal(HttpStatusCode.Accepted, stop.StatusCode);
        Assert.Equal("Stopped", stopped["status"]!.GetValue<string>());
        Assert.Equal("Stopped", stopped["steps"]![0]!["status"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }
}
