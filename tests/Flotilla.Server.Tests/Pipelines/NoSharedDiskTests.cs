using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Flotilla.Server.Tests.Datasets;
using Flotilla.Storage.Tests;
using Flotilla.Testing;
using Npgsql;
using Xunit.Abstractions;

namespace Flotilla.Server.Tests.Pipelines;

/// <summary>
/// Two `flotilla server` processes in the cluster shape, each with a data folder of its own (no shared disk), one
/// PostgreSQL database and one S3-compatible bucket (s3rver) between them: whatever one server stored, the other
/// must be able to run, resume or reuse; and a server that lost its execution to the other must write nothing.
/// </summary>
public sealed class NoSharedDiskTests(S3rverServer s3, ITestOutputHelper output) : IClassFixture<S3rverServer>, IAsyncLifetime
{
    // Short, so the tests wait little; adoption is due within the lease plus the scan interval and a margin.
    private const int LeaseSeconds = 4;
    private static readonly TimeSpan AdoptionBound = TimeSpan.FromSeconds(LeaseSeconds + 5);

    private readonly List<string> _folders = [];
    private string _database = "";
    private readonly string _clusterId = $"test-{Guid.NewGuid():N}";
    private readonly string _prefix = $"t{Guid.NewGuid():N}/";

    public async Task InitializeAsync() =>
        _database = await (await PostgresServer.GetSharedAsync()).CreateDatabaseAsync("noshareddisk");

    [Fact]
    public async Task A_dataset_uploaded_to_one_server_runs_on_the_other_and_a_step_cached_on_the_first_is_valid_on_the_second()
    {
        await using var a = await StartAsync(null);
        await using var b = await StartAsync(a);
        await UploadAsync(b, "bc");

        // Run on A: the dataset only B received (and A's disk never saw); Preprocess is cached.
        var first = await RunAsync(a, Parameters("bc", trials: 2));
        var second = await RunAsync(b, Parameters("bc", trials: 2));

        Assert.True(first["status"]!.GetValue<string>() == "Succeeded", first.ToJsonString());
        Assert.True(second["status"]!.GetValue<string>() == "Succeeded", second.ToJsonString());
        Assert.Equal(first["id"]!.GetValue<string>(), Step(second, "Preprocess")["cachedFrom"]?.GetValue<string>());
        Assert.Equal(Step(first, "Preprocess")["outputs"]!["train"]!.GetValue<string>(), Step(second, "Preprocess")["outputs"]!["train"]!.GetValue<string>());
        Assert.Matches("^files/[0-9a-f]{64}/train.csv$", Step(second, "Preprocess")["outputs"]!["train"]!.GetValue<string>());
        Assert.Equal(1, Step(first, "Register")["outputs"]!["version"]!.GetValue<long>());
    }

    [Fact]
    public async Task An_owner_killed_mid_tuning_is_adopted_by_the_other_server_which_finishes_keeping_the_earlier_trials()
    {
        const int trials = 6;
        await using var a = await StartAsync(null);
        await using var b = await StartAsync(a);
        await UploadAsync(a, "bc");
        var id = await StartExecutionAsync(a, Parameters("bc", trials));
        var seen = await TrialsAsync(a, id, atLeast: 2);
        var epoch = await EpochAsync(id);

        a.Kill();
        var clock = Stopwatch.StartNew();
        await Eventually.TrueAsync(async () => await EpochAsync(id) > epoch, "the other server claims the execution",
            TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(100));
        var adoptedAfter = clock.Elapsed;
        output.WriteLine($"adopted {adoptedAfter.TotalSeconds:0.00} s after the kill (lease {LeaseSeconds} s, scan 1 s)");
        var finished = await b.WaitFinishedAsync(id, TimeSpan.FromMinutes(3));
        var trialsAfter = (await b.Client.GetFromJsonAsync<JsonArray>($"/api/executions/{id}/trials"))!.OfType<JsonObject>().ToList();

        Assert.True(adoptedAfter <= AdoptionBound, $"adopted after {adoptedAfter.TotalSeconds:0.0} s, more than the lease ({LeaseSeconds} s) + 5 s");
        Assert.True(finished["status"]!.GetValue<string>() == "Succeeded", finished.ToJsonString() + b.Output);
        Assert.Contains("were already completed and are kept", Step(finished, "Tune")["log"]!.GetValue<string>());
        Assert.Equal(trials, trialsAfter.Count);
        foreach (var before in seen)
        {
            var after = trialsAfter.Single(t => t["number"]!.GetValue<int>() == before["number"]!.GetValue<int>());
            Assert.Equal(before.ToJsonString(), after.ToJsonString());
        }
        Assert.Equal(1, Step(finished, "Register")["outputs"]!["version"]!.GetValue<long>());
    }

    [Fact]
    public async Task An_owner_paused_past_its_lease_writes_and_registers_nothing_once_it_runs_again()
    {
        await using var a = await StartAsync(null);
        await using var b = await StartAsync(a);
        await UploadAsync(a, "bc");
        var id = await StartExecutionAsync(a, Parameters("bc", trials: 6));
        await TrialsAsync(a, id, atLeast: 1);

        a.Pause();
        var finished = await b.WaitFinishedAsync(id, TimeSpan.FromMinutes(3));
        var settled = await SnapshotAsync(b, id);
        a.Resume();
        // A wakes with its Tune step mid-run and its lease long gone: it must notice and stop, not finish the job.
        await Eventually.ValueAsync(() => Task.FromResult(a.Output), output => output.Contains("another server holds it now", StringComparison.Ordinal),
            "the resumed server sees it lost the execution", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(200));
        var after = await SnapshotAsync(b, id);
        var packages = await b.Client.GetFromJsonAsync<JsonArray>("/api/registry/groups/multimodel-bc/packages");

        Assert.True(finished["status"]!.GetValue<string>() == "Succeeded", finished.ToJsonString());
        Assert.Equal(settled, after);
        Assert.Single(packages!);
    }

    public async Task DisposeAsync()
    {
        await Task.CompletedTask;
        foreach (var folder in _folders)
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    private async Task<ChildServer> StartAsync(ChildServer? bootstrap)
    {
        var data = Directory.CreateTempSubdirectory("flotilla-machine-").FullName;
        _folders.Add(data);
        string[] settings =
        [
            "--Flotilla:Shape=Cluster", $"--Flotilla:PostgresConnectionString={_database}",
            $"--Flotilla:S3:Bucket={S3rverServer.Bucket}", $"--Flotilla:S3:ServiceUrl={s3.ServiceUrl}", $"--Flotilla:S3:Prefix={_prefix}",
            "--Flotilla:S3:AccessKey=S3RVER", "--Flotilla:S3:SecretKey=S3RVER",
            $"--Flotilla:Fleet:ClusterId={_clusterId}", $"--Flotilla:Fleet:SiloPort={FreePort()}", "--Flotilla:Fleet:GatewayPort=0",
            "--Flotilla:Fleet:AdvertisedAddress=127.0.0.1",
            $"--Flotilla:Pipelines:ExecutionLeaseSeconds={LeaseSeconds}", "--Flotilla:Pipelines:AdoptionScanSeconds=1",
        ];
        return await ChildServer.StartAsync(data, bootstrap?.Client.DefaultRequestHeaders.Authorization?.Parameter, settings);
    }

    private static async Task UploadAsync(ChildServer server, string name)
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent(name), "name" },
            { new StringContent("CLASS"), "target" },
            { new ByteArrayContent(await File.ReadAllBytesAsync(SharedDatasets.Path("breast-cancer.csv"))), "file", "breast-cancer.csv" },
        };
        using var response = await server.Client.PostAsync("/api/datasets", form);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    private static object Parameters(string dataset, int trials) => new
    {
        DatasetName = dataset,
        MaxTuningJobs = trials,
        MaxTuningParallelJobs = 1,
        CrossValidationFolds = 3,
        Algorithms = new[] { "RandomForest", "LogisticRegression" },
        TuningStrategy = "Random",
    };

    private static async Task<string> StartExecutionAsync(ChildServer server, object parameters)
    {
        using var start = await server.Client.PostAsJsonAsync("/api/pipelines/multimodel/executions", new { parameters });
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        return (await start.Content.ReadFromJsonAsync<JsonObject>())!["executionId"]!.GetValue<string>();
    }

    private static async Task<JsonObject> RunAsync(ChildServer server, object parameters) =>
        await server.WaitFinishedAsync(await StartExecutionAsync(server, parameters), TimeSpan.FromMinutes(3));

    private static Task<List<JsonObject>> TrialsAsync(ChildServer server, string id, int atLeast) =>
        Eventually.ValueAsync<List<JsonObject>>(
            async () => [.. (await server.Client.GetFromJsonAsync<JsonArray>($"/api/executions/{id}/trials"))!.OfType<JsonObject>()],
            trials => trials.Count >= atLeast, $"{atLeast} trials have completed", TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(25));

    /// <summary>The execution, its steps and its trials as stored: what no fenced server may change.</summary>
    private static async Task<string> SnapshotAsync(ChildServer server, string id)
    {
        var execution = await server.Client.GetFromJsonAsync<JsonObject>($"/api/executions/{id}");
        var trials = await server.Client.GetFromJsonAsync<JsonArray>($"/api/executions/{id}/trials");
        return new JsonObject { ["execution"] = execution, ["trials"] = trials }.ToJsonString();
    }

    private async Task<long> EpochAsync(string id)
    {
        await using var connection = new NpgsqlConnection(_database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT epoch FROM pipeline_executions WHERE id = @id", connection);
        command.Parameters.AddWithValue("id", id);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static JsonObject Step(JsonObject execution, string name) =>
        execution["steps"]!.AsArray().OfType<JsonObject>().Single(s => s["name"]!.GetValue<string>() == name);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
