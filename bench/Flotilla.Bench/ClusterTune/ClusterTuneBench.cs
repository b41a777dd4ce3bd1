using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Flotilla.Bench.Fleet;
using Flotilla.Cluster.Tests.Harness;
using Flotilla.Learning.Data;
using Flotilla.Server;
using Flotilla.Storage.Artifacts;
using Flotilla.Storage.Tests;
using Flotilla.Testing;
using Flotilla.Tuning;
using Microsoft.Extensions.DependencyInjection;
using static Flotilla.Bench.BenchContext;

namespace Flotilla.Bench.ClusterTune;

/// <summary>
/// A Tune step of the built-in pipeline (breast-cancer, 60 trials, 5 folds, TPE, seed 42) spread over the cluster:
/// <list type="number">
/// <item>embedded, one silo, same process: trials through the fleet executor (what a server does now) against the
/// in-process executor (what it did before), alternating;</item>
/// <item>cluster shape on one PostgreSQL: one server process against two, each held to <c>--quota</c> of a core by a
/// cgroup v1 CPU quota (<c>cpu.cfs_quota_us</c>, needs root), so two silos together use what one core gives.</item>
/// </list>
/// Usage: cluster-tune [--rounds 1] [--trials 60] [--quota 0.5] [--period-ms 100] [--skip-embedded]
/// </summary>
internal static class ClusterTuneBench
{
    private const string CgroupRoot = "/sys/fs/cgroup/cpu";

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        if (args.Length > 0 && args[0] == "serve")
        {
            // A child: one server of the cluster, inside the cgroup its parent put it in before exec.
            await using var app = FlotillaServer.Build(args[1..]);
            await app.RunAsync();
            return 0;
        }

        var rounds = int.Parse(Option(args, "--rounds") ?? "1", CultureInfo.InvariantCulture);
        var trials = int.Parse(Option(args, "--trials") ?? "60", CultureInfo.InvariantCulture);
        var share = new CpuShare(
            double.Parse(Option(args, "--quota") ?? "0.5", CultureInfo.InvariantCulture),
            (int)(double.Parse(Option(args, "--period-ms") ?? "100", CultureInfo.InvariantCulture) * 1000));
        Console.WriteLine($"# cluster-tune benchmark — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average {LoadAverage()}");
        Console.WriteLine();
        var dataset = Path.Combine(RepositoryRoot(), "..", "shared", "datasets", "breast-cancer.csv");
        if (!args.Contains("--skip-embedded"))
        {
            await EmbeddedAsync(dataset, trials, rounds, ct);
        }
        await ClusterAsync(dataset, trials, rounds, share, ct);
        Console.WriteLine();
        Console.WriteLine($"load average at the end {LoadAverage()}");
        return 0;
    }

    /// <summary>The built-in pipeline's MaxTuningParallelJobs, which the bench does not change: the tuner's lag (see <see cref="ScheduleBound"/>).</summary>
    private const int Lag = 6;

    private static object Parameters(int trials, int seed = 42) => new
    {
        DatasetName = "bc",
        MaxTuningJobs = trials,
        CrossValidationFolds = 5,
        RandomState = seed,
        MinThresholdForRegisterMetric = 0,
    };

    private static async Task EmbeddedAsync(string dataset, int trials, int rounds, CancellationToken ct)
    {
        await using var before = await BenchServer.StartAsync(b => b.Services.AddSingleton<ITrialExecutorFactory, InProcessTrialExecutors>());
        await using var after = await BenchServer.StartAsync();
        foreach (var server in new[] { before, after })
        {
            await RegisterAsync(server.Client, server.DataDirectory, dataset, ct);
            await RunTuneAsync(server.Client, Parameters(10), ct);
        }

        var times = new Dictionary<string, List<(double Seconds, double Best)>> { ["in process"] = [], ["fleet, one silo"] = [] };
        for (var round = 0; round < Math.Max(rounds, 3); round++)
        {
            foreach (var (name, server) in round % 2 == 0 ? [("in process", before), ("fleet, one silo", after)] : new[] { ("fleet, one silo", after), ("in process", before) })
            {
                var tune = await RunTuneAsync(server.Client, Parameters(trials), ct);
                times[name].Add((tune.Seconds, tune.Best));
            }
        }

        Console.WriteLine($"## Embedded: one silo, {Environment.ProcessorCount} cores, {trials} trials (median of {times["in process"].Count} alternating runs)");
        Console.WriteLine();
        Console.WriteLine("| executor | Tune step s (runs) | best CV |");
        Console.WriteLine("|---|---|---|");
        foreach (var (name, runs) in times)
        {
            Console.WriteLine(Invariant($"| {name} | {Median(runs.Select(r => r.Seconds)):F2} ({string.Join(", ", runs.Select(r => r.Seconds.ToString("F2", CultureInfo.InvariantCulture)))}) | {runs[0].Best:F4} |"));
        }
        Console.WriteLine(Invariant($"ratio fleet / in process: {Median(times["fleet, one silo"].Select(r => r.Seconds)) / Median(times["in process"].Select(r => r.Seconds)):F3}"));
        Console.WriteLine();
        await ShippingAsync(after.Services.GetRequiredService<IArtifactStore>(), dataset, ct);
    }

    /// <summary>
    /// What a worker silo pays once per run for the training data it fetches by hash (put by the running silo,
    /// read back and parsed by the worker), beside what one 5-fold trial costs: shipping the data in every trial's
    /// grain call instead would pay the serialization per trial.
    /// </summary>
    private static async Task ShippingAsync(IArtifactStore store, string dataset, CancellationToken ct)
    {
        var bytes = await File.ReadAllBytesAsync(dataset, ct);
        var put = new List<double>();
        var fetch = new List<double>();
        for (var i = 0; i < 20; i++)
        {
            var watch = Stopwatch.StartNew();
            var stored = await store.PutAsync(bytes, ct);
            put.Add(watch.Elapsed.TotalMilliseconds);
            watch.Restart();
            using var stream = new MemoryStream(await store.ReadVerifiedAsync(stored.Sha256, ct), writable: false);
            _ = TableReader.Read(stream, "bench", new CsvOptions("CLASS"), ct);
            fetch.Add(watch.Elapsed.TotalMilliseconds);
        }
        Console.WriteLine(Invariant(
            $"training data by hash ({bytes.Length / 1024.0:F0} KiB CSV, folder store, median of 20): put {Median(put):F2} ms on the running silo, fetch + verify + parse {Median(fetch):F2} ms once per worker silo"));
        Console.WriteLine();
    }

    private static async Task ClusterAsync(string dataset, int trials, int rounds, CpuShare share, CancellationToken ct)
    {
        if (!Environment.IsPrivilegedProcess || !Directory.Exists(CgroupRoot))
        {
            Console.WriteLine($"## Cluster: skipped — holding each silo to a CPU share needs root and cgroup v1 at {CgroupRoot}.");
            return;
        }

        await using var postgres = await PostgresServer.StartAsync(ct);
        // The cluster shape refuses to start without a shared artifact store: the servers get one bucket on s3rver.
        var s3 = new S3rverServer();
        await s3.InitializeAsync();
        try
        {
            await ClusterRoundsAsync(postgres, s3, dataset, trials, rounds, share, ct);
        }
        finally
        {
            await s3.DisposeAsync();
        }
    }

    private static async Task ClusterRoundsAsync(PostgresServer postgres, S3rverServer s3, string dataset, int trials, int rounds, CpuShare share, CancellationToken ct)
    {
        var results = new Dictionary<int, List<TuneRun>> { [1] = [], [2] = [] };
        for (var round = 0; round < rounds; round++)
        {
            foreach (var silos in round % 2 == 0 ? new[] { 1, 2 } : [2, 1])
            {
                results[silos].Add(await ClusterRunAsync(postgres, s3, dataset, trials, silos, share, ct));
            }
        }

        Console.WriteLine(Invariant($"## Cluster: servers on one PostgreSQL, each silo held to {share.Cores:0.##} of a core (given out every {share.PeriodMicroseconds / 1000.0:0.#} ms), {trials} trials"));
        Console.WriteLine();
        Console.WriteLine("| silos | Tune step s, warm (runs) | trials per silo (running server first) | best trial | best CV | first run after start s, cold (runs) |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var (silos, runs) in results)
        {
            var last = runs[^1];
            Console.WriteLine(Invariant(
                $"| {silos} | {Median(runs.Select(r => r.Seconds)):F2} ({string.Join(", ", runs.Select(r => r.Seconds.ToString("F2", CultureInfo.InvariantCulture)))}) | {string.Join(" / ", last.PerSilo)} | {last.BestTrial} | {last.Best:F4} | {Median(runs.Select(r => r.ColdSeconds ?? double.NaN)):F2} ({string.Join(", ", runs.Select(r => (r.ColdSeconds ?? double.NaN).ToString("F2", CultureInfo.InvariantCulture)))}) |"));
        }
        Console.WriteLine();
        Console.WriteLine("Where each warm run's time went, per silo (the running server first): CPU seconds used / the trials' seconds added up / seconds throttled by the quota.");
        Console.WriteLine();
        foreach (var (silos, runs) in results)
        {
            foreach (var run in runs)
            {
                Console.WriteLine(Invariant(
                    $"- {silos} silo(s), {run.Seconds:F2} s: CPU {string.Join(" + ", run.Cpu.Select(c => c.CpuSeconds.ToString("F2", CultureInfo.InvariantCulture)))} s; trials {string.Join(" + ", run.TrialSeconds.Select(t => t.ToString("F2", CultureInfo.InvariantCulture)))} s; throttled {string.Join(" + ", run.Cpu.Select(c => c.ThrottledSeconds.ToString("F2", CultureInfo.InvariantCulture)))} s"));
            }
        }
        var lags = results[2].SelectMany(r => r.EventLagMs ?? []).Order().ToArray();
        if (lags.Length > 0)
        {
            Console.WriteLine();
            Console.WriteLine(Invariant(
                $"trial events on the other server's stream, later than on the running server's: p50 {lags[lags.Length / 2]:F1} ms, p90 {lags[(int)(lags.Length * 0.9)]:F1} ms, max {lags[^1]:F1} ms over {lags.Length} events"));
        }
        // What two silos could give at best with these trials: the one-silo runs' trial times, scheduled on two slots
        // with no cost of distribution, under the tuner's rule that trial n starts once every trial up to n − Lag ended.
        var bounds = results[1].Select(r => r.Seconds / ScheduleBound(r.TrialSecondsByNumber, slots: 2, Lag)).ToList();
        Console.WriteLine();
        Console.WriteLine(Invariant(
            $"the best two silos could do with the one-silo runs' trial times (two slots, no distribution cost, trial n waiting for trials ≤ n − {Lag}): {string.Join(", ", bounds.Select(b => b.ToString("F2", CultureInfo.InvariantCulture)))}× (one slot, no wait: 2×)"));
        var speedup = Median(results[1].Select(r => r.Seconds)) / Median(results[2].Select(r => r.Seconds));
        var same = results.Values.SelectMany(r => r).Select(r => (r.BestTrial, r.Best)).Distinct().Count() == 1;
        Console.WriteLine();
        var coldSpeedup = Median(results[1].Select(r => r.ColdSeconds ?? double.NaN)) / Median(results[2].Select(r => r.ColdSeconds ?? double.NaN));
        Console.WriteLine(Invariant($"speed-up 2 silos / 1 silo: {speedup:F2}× warm (bar ≥ 1.7×), {coldSpeedup:F2}× cold; same best trial and score in every warm run: {(same ? "yes" : "NO")}"));
    }

    /// <summary>
    /// When the last of trials of these durations (by number) ends on <paramref name="slots"/> slots that lose nothing
    /// between trials: trials start in number order, each on the first free slot once every trial numbered
    /// <paramref name="lag"/> or more below it has ended — the tuner's rule that keeps proposals the same on any
    /// number of silos.
    /// </summary>
    private static double ScheduleBound(IReadOnlyList<double> seconds, int slots, int lag)
    {
        var ends = new double[seconds.Count];
        var free = new PriorityQueue<int, double>();
        for (var slot = 0; slot < slots; slot++)
        {
            free.Enqueue(slot, 0);
        }
        var latestGate = 0.0;
        for (var n = 0; n < seconds.Count; n++)
        {
            free.TryDequeue(out var slot, out var at);
            if (n - lag >= 0)
            {
                // Every trial up to n − lag must have ended; they all started earlier, so track the latest end so far.
                latestGate = Math.Max(latestGate, ends[n - lag]);
            }
            var start = Math.Max(at, latestGate);
            ends[n] = start + seconds[n];
            free.Enqueue(slot, ends[n]);
        }
        return ends.Length == 0 ? 0 : ends.Max();
    }

    /// <summary>Each silo's CPU: <see cref="Cores"/> of a core, given out every <see cref="PeriodMicroseconds"/>.</summary>
    private sealed record CpuShare(double Cores, int PeriodMicroseconds);

    /// <summary><see cref="EventLagMs"/>: per trial event, when the second server's stream had it minus when the running server's had it;
    /// <see cref="ColdSeconds"/>: the first run after the servers started (another seed), JIT included.</summary>
    private sealed record TuneRun(double Seconds, double Best, int BestTrial, IReadOnlyList<int> PerSilo, IReadOnlyList<double>? EventLagMs = null, double? ColdSeconds = null)
    {
        /// <summary>Each trial's seconds, by trial number.</summary>
        public IReadOnlyList<double> TrialSecondsByNumber { get; init; } = [];

        /// <summary>Per silo in the order servers started (the first runs the execution): CPU used during the warm run.</summary>
        public IReadOnlyList<SiloCpu> Cpu { get; init; } = [];

        /// <summary>Per silo, in the order of <see cref="PerSilo"/> (the order the servers started): the trials' seconds added up.</summary>
        public IReadOnlyList<double> TrialSeconds { get; init; } = [];
    }

    /// <summary>
    /// A server's CPU seconds (its process's user and system time) and how long its cgroup stood throttled (the
    /// quota spent before the period ended): what the Tune step's wall time was made of on each silo.
    /// </summary>
    private sealed record SiloCpu(double CpuSeconds, double ThrottledSeconds)
    {
        private const double ClockTicksPerSecond = 100;

        public static SiloCpu Read(Process process, CpuQuota cpu)
        {
            // Fields after the command name's closing parenthesis; utime and stime are the 12th and 13th of them.
            var stat = File.ReadAllText($"/proc/{process.Id}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            var throttled = File.ReadLines(Path.Combine(cpu.Path, "cpu.stat"))
                .Select(l => l.Split(' ')).Where(f => f[0] == "throttled_time").Select(f => long.Parse(f[1], CultureInfo.InvariantCulture)).Single();
            return new SiloCpu(ticks / ClockTicksPerSecond, throttled / 1e9);
        }

        public static SiloCpu operator -(SiloCpu after, SiloCpu before) =>
            new(after.CpuSeconds - before.CpuSeconds, after.ThrottledSeconds - before.ThrottledSeconds);
    }

    private static async Task<TuneRun> ClusterRunAsync(PostgresServer postgres, S3rverServer s3, string dataset, int trials, int silos, CpuShare share, CancellationToken ct)
    {
        var database = await postgres.CreateDatabaseAsync("clustertune", ct);
        var data = Directory.CreateTempSubdirectory("flotilla-cluster-tune-").FullName;
        var clusterId = $"bench-{Guid.NewGuid():N}";
        var children = new List<(Process Process, CpuQuota Cpu)>();
        try
        {
            var ports = new List<int>();
            var siloPorts = new List<int>();
            for (var i = 0; i < silos; i++)
            {
                var port = FreePort();
                ports.Add(port);
                siloPorts.Add(FreePort());
                children.Add(StartChild(i, share,
                [
                    "--urls", $"http://127.0.0.1:{port}", "--Flotilla:Shape=Cluster", $"--Flotilla:PostgresConnectionString={database}",
                    $"--Flotilla:S3:Bucket={S3rverServer.Bucket}", $"--Flotilla:S3:ServiceUrl={s3.ServiceUrl}",
                    "--Flotilla:S3:AccessKey=S3RVER", "--Flotilla:S3:SecretKey=S3RVER",
                    $"--Flotilla:DataDirectory={data}", $"--Flotilla:Fleet:ClusterId={clusterId}", $"--Flotilla:Fleet:SiloPort={siloPorts[i]}",
                    "--Flotilla:Fleet:GatewayPort=0", "--Flotilla:Fleet:AdvertisedAddress=127.0.0.1", "--Logging:LogLevel:Default=Warning",
                ]));
                // One after the other: the first bootstraps the database and writes the admin key.
                await WaitHealthyAsync(port, ct);
            }

            var key = (await File.ReadAllTextAsync(Path.Combine(data, "admin.key"), ct)).Trim();
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ports[0]}"), Timeout = TimeSpan.FromMinutes(5) };
            client.DefaultRequestHeaders.Authorization = new("Bearer", key);
            await UntilAsync(async () =>
                (await client.GetFromJsonAsync<JsonObject>("/api/endpoint", ct))!["instances"]!.AsArray()
                    .Count(i => i!["error"] is null) == silos,
                ok => ok, $"{silos} instances answer", TimeSpan.FromMinutes(1), ct);
            await RegisterAsync(client, data, dataset, ct);
            var followers = ports.Select(p =>
            {
                var follower = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{p}"), Timeout = Timeout.InfiniteTimeSpan };
                follower.DefaultRequestHeaders.Authorization = new("Bearer", key);
                return follower;
            }).ToList();
            try
            {
                // The first run after the servers start pays for every silo's JIT (several CPU seconds, long on a
                // half core; a cluster pays it once per process, not per run): it is timed apart, with another seed
                // so the timed run's Tune step is not the cache's. A second run with a third seed lets each silo meet
                // the families' code paths the first run happened to send elsewhere.
                var cold = await RunTuneAsync(client, Parameters(trials, seed: 7), ct);
                await RunTuneAsync(client, Parameters(trials, seed: 8), ct);
                var before = children.Select(c => SiloCpu.Read(c.Process, c.Cpu)).ToList();
                var warm = await RunTuneAsync(client, Parameters(trials), ct, siloPorts, followers);
                var used = children.Select((c, i) => SiloCpu.Read(c.Process, c.Cpu) - before[i]).ToList();
                return warm with { ColdSeconds = cold.Seconds, Cpu = used };
            }
            finally
            {
                followers.ForEach(f => f.Dispose());
            }
        }
        finally
        {
            foreach (var (child, cpu) in children)
            {
                child.Kill(entireProcessTree: true);
                await child.WaitForExitAsync(CancellationToken.None);
                child.Dispose();
                cpu.Dispose();
            }
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>This benchmark as a child server, started inside its own CPU cgroup so .NET sees the quota from its first instruction.</summary>
    private static (Process Process, CpuQuota Cpu) StartChild(int index, CpuShare share, string[] settings)
    {
        var cpu = CpuQuota.Create($"flotilla-bench-silo{index}", share.PeriodMicroseconds);
        cpu.Limit(share.Cores);
        var group = cpu.Path;
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true };
        // The bench itself is the silo: its apphost, or the dotnet host and its dll when started as `dotnet Flotilla.Bench.dll`.
        string[] self = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet"
            ? [Environment.ProcessPath!, typeof(ClusterTuneBench).Assembly.Location]
            : [Environment.ProcessPath!];
        foreach (var arg in (string[])["-c", $"echo $$ > {group}/cgroup.procs && exec \"$0\" \"$@\"", .. self, "cluster-tune", "serve", .. settings])
        {
            start.ArgumentList.Add(arg);
        }
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) Console.Error.WriteLine($"[silo{index}] {line}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, cpu);
    }

    private static async Task WaitHealthyAsync(int port, CancellationToken ct)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await UntilAsync(async () =>
        {
            try { return (await client.GetAsync($"http://127.0.0.1:{port}/healthz", ct)).IsSuccessStatusCode; }
            catch (HttpRequestException) { return false; }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested) { return false; }
        }, ok => ok, $"the server on port {port} answers", TimeSpan.FromMinutes(2), ct);
    }

    private static async Task RegisterAsync(HttpClient client, string data, string dataset, CancellationToken ct)
    {
        var imported = Path.Combine(Directory.CreateDirectory(Path.Combine(data, "imports")).FullName, "bc.csv");
        File.Copy(dataset, imported, overwrite: true);
        using var response = await client.PostAsJsonAsync("/api/datasets", new { name = "bc", path = imported, target = "CLASS" }, ct);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>
    /// Runs the built-in pipeline and reads its Tune step: seconds from start to end, best score and trial, trials per
    /// silo (in the order the servers started, told apart by <paramref name="siloPorts"/>, each server's silo port).
    /// </summary>
    private static async Task<TuneRun> RunTuneAsync(
        HttpClient client, object parameters, CancellationToken ct, IReadOnlyList<int>? siloPorts = null, IReadOnlyList<HttpClient>? followers = null)
    {
        using var start = await client.PostAsJsonAsync("/api/pipelines/multimodel/executions", new { parameters }, ct);
        start.EnsureSuccessStatusCode();
        var id = (await start.Content.ReadFromJsonAsync<JsonObject>(ct))!["executionId"]!.GetValue<string>();
        var streams = (followers ?? []).Select(f => FollowAsync(f, id, ct)).ToList();
        var execution = await UntilAsync(
            async () => (await client.GetFromJsonAsync<JsonObject>($"/api/executions/{id}", ct))!,
            e => e["status"]!.GetValue<string>() is "Succeeded" or "Failed" or "Stopped",
            $"execution {id} ends", TimeSpan.FromMinutes(20), ct);
        var tune = execution["steps"]!.AsArray().Single(s => s!["name"]!.GetValue<string>() == "Tune")!;
        if (tune["status"]!.GetValue<string>() != "Succeeded")
        {
            throw new InvalidOperationException($"The Tune step ended {tune["status"]}: {tune["failureReason"]}");
        }
        var seconds = (DateTimeOffset.Parse(tune["endedAt"]!.GetValue<string>(), CultureInfo.InvariantCulture)
            - DateTimeOffset.Parse(tune["startedAt"]!.GetValue<string>(), CultureInfo.InvariantCulture)).TotalSeconds;
        var trials = (await client.GetFromJsonAsync<JsonArray>($"/api/executions/{id}/trials", ct))!;
        // A silo is named S<address>:<silo port>:<generation>.
        int Started(string? silo) => siloPorts?.ToList().FindIndex(p => silo?.Contains(Invariant($":{p}:"), StringComparison.Ordinal) == true) ?? 0;
        var bySilo = trials.GroupBy(t => t!["silo"]?.GetValue<string>()).OrderBy(g => Started(g.Key)).ToList();
        var perSilo = bySilo.Select(g => g.Count()).ToList();
        var trialSeconds = bySilo.Select(g => g.Sum(t => t!["seconds"]!.GetValue<double>())).ToList();
        var outputs = tune["outputs"]!;
        IReadOnlyList<double>? lag = null;
        if (streams.Count == 2)
        {
            var arrivals = await Task.WhenAll(streams);
            lag = [.. arrivals[0].Where(a => arrivals[1].ContainsKey(a.Key)).Select(a => arrivals[1][a.Key] - a.Value).Order()];
        }
        var byNumber = trials.OrderBy(t => t!["number"]!.GetValue<int>()).Select(t => t!["seconds"]!.GetValue<double>()).ToList();
        return new TuneRun(seconds, outputs["bestScore"]!.GetValue<double>(), outputs["bestTrial"]!.GetValue<int>(), perSilo, lag)
        {
            TrialSeconds = trialSeconds,
            TrialSecondsByNumber = byNumber,
        };
    }

    /// <summary>Reads an execution's event stream to its end: when (ms on one clock) each trial's event arrived, by trial number.</summary>
    private static async Task<Dictionary<int, double>> FollowAsync(HttpClient client, string id, CancellationToken ct)
    {
        var arrivals = new Dictionary<int, double>();
        using var response = await client.GetAsync($"/api/executions/{id}/events", HttpCompletionOption.ResponseHeadersRead, ct);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
        var trialEvent = false;
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                trialEvent = line == "event: trial";
            }
            else if (trialEvent && line.StartsWith("data: ", StringComparison.Ordinal))
            {
                var now = Stopwatch.GetTimestamp() * 1000.0 / Stopwatch.Frequency;
                arrivals.TryAdd(JsonNode.Parse(line["data: ".Length..])!["trial"]!["number"]!.GetValue<int>(), now);
            }
        }
        return arrivals;
    }

    private static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> until, string what, TimeSpan within, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (until(value))
            {
                return value;
            }
            if (watch.Elapsed > within)
            {
                throw new TimeoutException($"Timed out after {within.TotalSeconds:0} s waiting until {what}.");
            }
            await Task.Delay(100, ct);
        }
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
