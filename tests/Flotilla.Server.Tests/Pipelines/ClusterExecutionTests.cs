using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotilla.Server.Tests.Datasets;
using Flotilla.Storage.Tests;
using Flotilla.Testing;

namespace Flotilla.Server.Tests.Pipelines;

/// <summary>Two servers of the cluster shape on one PostgreSQL database: one runs an execution, both take its trials and show its events.</summary>
public sealed class ClusterExecutionTests(S3rverServer s3) : IClassFixture<S3rverServer>
{
    [Fact]
    public async Task An_execution_on_one_server_spreads_its_trials_over_both_and_the_other_streams_its_trial_events()
    {
        var postgres = await (await PostgresServer.GetSharedAsync()).CreateDatabaseAsync("trials");
        var shared = Directory.CreateTempSubdirectory("flotilla-cluster-trials-").FullName;
        var clusterId = $"test-{Guid.NewGuid():N}";
        var prefix = $"t{Guid.NewGuid():N}/";
        string[] Settings() =>
        [
            "--Flotilla:Shape=Cluster", $"--Flotilla:PostgresConnectionString={postgres}", $"--Flotilla:DataDirectory={shared}",
            $"--Flotilla:Fleet:ClusterId={clusterId}", $"--Flotilla:Fleet:SiloPort={FreePort()}", "--Flotilla:Fleet:GatewayPort=0",
            "--Flotilla:Fleet:AdvertisedAddress=127.0.0.1",
            // The cluster shape shares datasets, step files and models through a bucket; a fresh prefix keeps tests apart in it.
            $"--Flotilla:S3:Bucket={S3rverServer.Bucket}", $"--Flotilla:S3:ServiceUrl={s3.ServiceUrl}", $"--Flotilla:S3:Prefix={prefix}",
            "--Flotilla:S3:AccessKey=S3RVER", "--Flotilla:S3:SecretKey=S3RVER",
        ];
        await using var a = await RunningServer.StartAsync(Settings());
        await using var b = await RunningServer.StartAsync(Settings());
        await Eventually.TrueAsync(async () =>
            (await a.Client.GetFromJsonAsync<JsonElement>("/api/endpoint")).GetProperty("instances").EnumerateArray()
                .Count(i => i.GetProperty("error").ValueKind == JsonValueKind.Null) == 2,
            "the first server sees both instances answering");
        var imported = Path.Combine(Directory.CreateDirectory(Path.Combine(shared, "imports")).FullName, "bc.csv");
        File.Copy(SharedDatasets.Path("breast-cancer.csv"), imported);
        using (var dataset = await a.Client.PostAsJsonAsync("/api/datasets", new { name = "bc", path = imported, target = "CLASS" }))
        {
            Assert.Equal(HttpStatusCode.Created, dataset.StatusCode);
        }

        // A first, smaller run activates the trial workers of both silos: a silo that is slow to answer how many cores it
        // has (a cold one on a busy machine) is left out of a run, which is right for the product but not what this tests.
        using (var warmUp = await a.Client.PostAsJsonAsync("/api/pipelines/multimodel/executions", new
        {
            parameters = new { DatasetName = "bc", MaxTuningJobs = 4, MaxTuningParallelJobs = 4, CrossValidationFolds = 3, Algorithms = new[] { "NaiveBayes" }, MinThresholdForRegisterMetric = 0 },
        }))
        {
            Assert.Equal(HttpStatusCode.Accepted, warmUp.StatusCode);
            var warmUpId = (await warmUp.Content.ReadFromJsonAsync<JsonObject>())!["executionId"]!.GetValue<string>();
            using var warmUpEvents = await a.Client.GetAsync($"/api/executions/{warmUpId}/events", HttpCompletionOption.ResponseHeadersRead);
            await warmUpEvents.Content.ReadAsStringAsync();
        }

        using var start = await a.Client.PostAsJsonAsync("/api/pipelines/multimodel/executions", new
        {
            parameters = new
            {
                DatasetName = "bc",
                MaxTuningJobs = 12,
                MaxTuningParallelJobs = 4,
                CrossValidationFolds = 3,
                Algorithms = new[] { "LogisticRegression", "NaiveBayes", "LightGBM" },
                MinThresholdForRegisterMetric = 0,
            },
        });
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var id = (await start.Content.ReadFromJsonAsync<JsonObject>())!["executionId"]!.GetValue<string>();
        using var events = await b.Client.GetAsync($"/api/executions/{id}/events", HttpCompletionOption.ResponseHeadersRead);
        var stream = await events.Content.ReadAsStringAsync();
        var trials = (await b.Client.GetFromJsonAsync<JsonArray>($"/api/executions/{id}/trials"))!.OfType<JsonObject>().ToList();

        Assert.Contains("\"status\":\"Succeeded\"", stream[stream.LastIndexOf("event: snapshot", StringComparison.Ordinal)..]);
        // Every trial once, whether it was recorded before the stream started (replayed) or after (relayed from A).
        var streamed = TrialEvents(stream);
        Assert.Equal(12, streamed.Select(t => t["number"]!.GetValue<int>()).Distinct().Count());
        Assert.Equal(12, streamed.Count);
        // A trial the tuner stopped before its executor answered (outranked, out of budget) has no silo to name.
        var answered = streamed.Where(t => t["status"]?.GetValue<string>() == "Complete").ToList();
        Assert.NotEmpty(answered);
        Assert.All(answered, t => Assert.False(string.IsNullOrEmpty(t["silo"]?.GetValue<string>())));
        Assert.Equal(12, trials.Count);
        Assert.Equal(2, trials.Select(t => t["silo"]!.GetValue<string>()).Distinct().Count());
    }

    /// <summary>The <c>trial</c> of every <c>event: trial</c> in a server-sent events text.</summary>
    private static List<JsonObject> TrialEvents(string stream) =>
        [.. stream.Split("\n\n").Where(e => e.StartsWith("event: trial", StringComparison.Ordinal))
            .Select(e => JsonNode.Parse(e.Split('\n').Single(l => l.StartsWith("data: ", StringComparison.Ordinal))["data: ".Length..])!["trial"]!.AsObject())];

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
