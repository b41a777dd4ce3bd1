using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Flotilla.Cluster.Tests.Harness;
using Flotilla.Testing;
using Npgsql;

namespace Flotilla.Cluster.Tests.Pipelines;

/// <summary>The pipeline scenarios share one started cluster: starting three servers is most of a scenario's time.</summary>
[CollectionDefinition(Name)]
public sealed class PipelineClusterCollection : ICollectionFixture<PipelineCluster>
{
    public const string Name = "pipeline cluster";
}

/// <summary>
/// Three servers with no shared disk for the pipeline scenarios, and what they do with it: upload a dataset to one
/// server, start an execution on another, read it back from a third. A scenario that kills or pauses a server leaves
/// it so; the next one starts with <see cref="ReadyAsync"/>, which brings every server back (a replaced machine:
/// same address, empty disk), so no scenario depends on which ran before it.
/// </summary>
public sealed class PipelineCluster : IAsyncLifetime
{
    /// <summary>Short, so adoption scenarios wait little; due within the lease plus the scan interval and a margin.</summary>
    public const int LeaseSeconds = 6;

    public static readonly TimeSpan AdoptionBound = TimeSpan.FromSeconds(LeaseSeconds + 5);

    /// <summary>
    /// A Tune step long enough to be caught in the middle: 40 trials of up to 6 at once (every silo's 2 cores), the
    /// default TPE strategy, whose proposals the ≤ n − P rule makes the same on any silos. The running silo's own slots
    /// are taken first, so trials reach a second silo only when they overlap: with the linear families' trials of a
    /// few milliseconds alone they freed up so fast that runs ended with none sent to the worker (three folds once,
    /// five folds in one CI run of two), so the forest's longer trials are among them.
    /// </summary>
    public static Dictionary<string, object> LongTune(string dataset, string approval = "PendingManualApproval") => new()
    {
        ["DatasetName"] = dataset,
        ["MaxTuningJobs"] = 40,
        ["MaxTuningParallelJobs"] = 6,
        ["CrossValidationFolds"] = 5,
        ["Algorithms"] = new[] { "LogisticRegression", "NaiveBayes", "RandomForest" },
        ["RandomState"] = 7,
        ["MinThresholdForRegisterMetric"] = 0,
        ["RegisterModelApprovalStatus"] = approval,
    };

    /// <summary>A quick run: a few trials, enough for events and a cache entry.</summary>
    public static Dictionary<string, object> Quick(string dataset, int trials = 6, int parallel = 2) => new()
    {
        ["DatasetName"] = dataset,
        ["MaxTuningJobs"] = trials,
        ["MaxTuningParallelJobs"] = parallel,
        ["CrossValidationFolds"] = 3,
        ["Algorithms"] = new[] { "LogisticRegression", "NaiveBayes" },
        ["MinThresholdForRegisterMetric"] = 0,
    };

    private static readonly string BreastCancer = FindDataset("breast-cancer.csv");
    private readonly SemaphoreSlim _baselineGate = new(1, 1);
    private (JsonObject Execution, List<JsonObject> Trials)? _baseline;
    private ClusterHarness? _harness;

    internal ClusterHarness Harness => _harness ?? throw new InvalidOperationException("The cluster has not started.");

    public async Task InitializeAsync() =>
        _harness = await ClusterHarness.StartAsync(3,
            $"--Flotilla:Pipelines:ExecutionLeaseSeconds={LeaseSeconds}", "--Flotilla:Pipelines:AdoptionScanSeconds=1");

    public async Task DisposeAsync()
    {
        if (_harness is not null)
        {
            await _harness.DisposeAsync();
        }
        _baselineGate.Dispose();
    }

    /// <summary>
    /// Every server answering and listing all three as instances: a server an earlier scenario killed, or whose silo
    /// a pause cost its membership, starts again on its machine with an empty disk.
    /// </summary>
    public async Task ReadyAsync()
    {
        var servers = Enumerable.Range(0, Harness.Servers.Count).ToList();
        var answering = await Task.WhenAll(servers.Select(AnswersAsync));
        var members = servers.FirstOrDefault(i => answering[i], -1) is var observer and >= 0 ? await MembersAsync(observer) : [];
        await Task.WhenAll(servers.Where(i => !answering[i] || !members.Contains(i)).Select(Harness.RestartAsync));
        await Harness.WaitForInstancesAsync(servers.Count, servers, TimeSpan.FromSeconds(90));
    }

    /// <summary>The servers whose silo <paramref name="observer"/> lists as an answering instance.</summary>
    private async Task<HashSet<int>> MembersAsync(int observer)
    {
        var endpoint = await Harness.EndpointAsync(observer);
        return [.. endpoint.GetProperty("instances").EnumerateArray()
            .Where(i => i.GetProperty("error").ValueKind == System.Text.Json.JsonValueKind.Null)
            .Select(i => Harness.ServerOf(i.GetProperty("silo").GetString()!))];
    }

    /// <summary>Uploads breast-cancer as <paramref name="name"/> to <paramref name="server"/> (a multipart upload: the bytes land in the bucket).</summary>
    public async Task UploadAsync(int server, string name)
    {
        using var client = Harness.Client(server);
        using var form = new MultipartFormDataContent
        {
            { new StringContent(name), "name" },
            { new StringContent("CLASS"), "target" },
            { new ByteArrayContent(await File.ReadAllBytesAsync(BreastCancer)), "file", "breast-cancer.csv" },
        };
        using var response = await client.PostAsync("/api/datasets", form);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    public async Task<string> StartAsync(int server, Dictionary<string, object> parameters)
    {
        using var client = Harness.Client(server);
        using var start = await client.PostAsJsonAsync("/api/pipelines/multimodel/executions", new { parameters });
        Assert.True(start.StatusCode == HttpStatusCode.Accepted, await start.Content.ReadAsStringAsync());
        return (await start.Content.ReadFromJsonAsync<JsonObject>())!["executionId"]!.GetValue<string>();
    }

    public async Task<JsonObject> ExecutionAsync(int server, string id)
    {
        using var client = Harness.Client(server);
        return (await client.GetFromJsonAsync<JsonObject>($"/api/executions/{id}"))!;
    }

    public async Task<List<JsonObject>> TrialsAsync(int server, string id)
    {
        using var client = Harness.Client(server);
        return [.. (await client.GetFromJsonAsync<JsonArray>($"/api/executions/{id}/trials"))!.OfType<JsonObject>()];
    }

    /// <summary>
    /// The trials of an execution whose owner is frozen, once none more arrive: a write the owner sent to the
    /// database just before it stopped can still land a moment later, so this reads until two reads half a second
    /// apart agree.
    /// </summary>
    public async Task<List<JsonObject>> SettledTrialsAsync(int server, string id)
    {
        var trials = await TrialsAsync(server, id);
        while (true)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            var again = await TrialsAsync(server, id);
            if (again.Count == trials.Count)
            {
                return again;
            }
            trials = again;
        }
    }

    public Task<JsonObject> WaitFinishedAsync(int server, string id, TimeSpan? within = null) =>
        Eventually.ValueAsync(
            () => ExecutionAsync(server, id),
            execution => execution["status"]!.GetValue<string>() is "Succeeded" or "Failed" or "Stopped",
            $"execution {id} ends (read on server {server})", within ?? TimeSpan.FromMinutes(3), TimeSpan.FromMilliseconds(200), Harness.Logs);

    public async Task<JsonObject> RunAsync(int server, Dictionary<string, object> parameters) =>
        await WaitFinishedAsync(server, await StartAsync(server, parameters));

    /// <summary>Waits until <paramref name="id"/> has kept at least <paramref name="count"/> trials, as <paramref name="observer"/> reads them.</summary>
    public Task<List<JsonObject>> TrialsAtLeastAsync(int observer, string id, int count, Func<List<JsonObject>, bool>? and = null) =>
        Eventually.ValueAsync(() => TrialsAsync(observer, id), trials => trials.Count >= count && (and?.Invoke(trials) ?? true),
            $"execution {id} has kept {count} trials", TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(20), Harness.Logs);

    /// <summary>
    /// The uninterrupted run of <see cref="LongTune"/> on dataset <c>bc-long</c> (uploaded to server 0 and run there,
    /// once for the scenarios that compare with it), and its trials.
    /// </summary>
    public async Task<(JsonObject Execution, List<JsonObject> Trials)> BaselineAsync()
    {
        await _baselineGate.WaitAsync();
        try
        {
            if (_baseline is null)
            {
                await UploadAsync(0, "bc-long");
                var execution = await RunAsync(0, LongTune("bc-long"));
                Assert.True(execution["status"]!.GetValue<string>() == "Succeeded", execution.ToJsonString());
                _baseline = (execution, await TrialsAsync(0, execution["id"]!.GetValue<string>()));
            }
            return _baseline.Value;
        }
        finally
        {
            _baselineGate.Release();
        }
    }

    /// <summary>The execution's epoch in the database: each claim (a start, an adoption) raises it.</summary>
    public async Task<long> EpochAsync(string id)
    {
        await using var connection = new NpgsqlConnection(Harness.Database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT epoch FROM pipeline_executions WHERE id = @id", connection);
        command.Parameters.AddWithValue("id", id);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public static JsonObject Step(JsonObject execution, string name) =>
        execution["steps"]!.AsArray().OfType<JsonObject>().Single(s => s["name"]!.GetValue<string>() == name);

    /// <summary>What makes two runs' trials the same trials: the proposal, the scores and the pruning, not where or how fast.</summary>
    public static string Essence(JsonObject trial) => new JsonObject
    {
        ["number"] = trial["number"]!.DeepClone(),
        ["algorithm"] = trial["algorithm"]!.DeepClone(),
        ["parameters"] = trial["parameters"]?.DeepClone(),
        ["foldScores"] = trial["foldScores"]!.DeepClone(),
        ["status"] = trial["status"]!.DeepClone(),
    }.ToJsonString();

    /// <summary>Both runs made the same search: trial for trial, the same proposal, fold scores and status; a difference is shown in full.</summary>
    public static void SameSearch(IReadOnlyList<JsonObject> expected, IReadOnlyList<JsonObject> actual)
    {
        var (want, got) = (expected.Select(Essence).ToList(), actual.Select(Essence).ToList());
        var first = Enumerable.Range(0, Math.Min(want.Count, got.Count)).FirstOrDefault(i => want[i] != got[i], -1);
        Assert.True(first < 0, $"trial {first} differs:\n  expected {(first < 0 ? "" : want[first])}\n  actual   {(first < 0 ? "" : got[first])}");
        Assert.Equal(want.Count, got.Count);
    }

    /// <summary>The best trial a Tune step reported: which, with what, how good.</summary>
    public static string Best(JsonObject execution)
    {
        var outputs = Step(execution, "Tune")["outputs"]!;
        return new JsonObject
        {
            ["bestTrial"] = outputs["bestTrial"]!.DeepClone(),
            ["bestAlgorithm"] = outputs["bestAlgorithm"]!.DeepClone(),
            ["bestParameters"] = outputs["bestParameters"]!.DeepClone(),
            ["bestScore"] = outputs["bestScore"]!.DeepClone(),
        }.ToJsonString();
    }

    private async Task<bool> AnswersAsync(int server)
    {
        if (Harness.Servers[server].HasExited)
        {
            return false;
        }
        try
        {
            using var client = Harness.Client(server, TimeSpan.FromSeconds(5));
            using var health = await client.GetAsync("/healthz");
            return health.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private static string FindDataset(string file)
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Flotilla.slnx")))
            {
                // The shared example datasets beside the repository: read, never copied into it.
                return Path.GetFullPath(Path.Combine(directory.FullName, "..", "shared", "datasets", file));
            }
        }
        throw new DirectoryNotFoundException($"No Flotilla.slnx above {AppContext.BaseDirectory}.");
    }
}
