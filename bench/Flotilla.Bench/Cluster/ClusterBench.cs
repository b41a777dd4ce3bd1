using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Flotilla.Bench.Fleet;
using Flotilla.Cluster.Tests.Harness;
using Flotilla.Registry;
using Flotilla.Testing;

namespace Flotilla.Bench.Cluster;

/// <summary>
/// The serving side of a cluster on the multi-machine harness (tests/Flotilla.Cluster.Tests/Harness: network
/// namespaces, private tmpfs data folders, PostgreSQL and s3rver, `flotilla server` processes, cgroup CPU quotas).
/// Needs root. <c>hot</c>: one hot model on 2 silos held to half a core each vs 1 (wrk); <c>cross</c>: what a call
/// entering at a silo that does not hold the model adds at p50; <c>failover</c>: the longest call and the failures
/// around a SIGKILL and a network cut of the model's home, and how soon membership declares it dead;
/// <c>starved</c>: a silo held to a sliver of a core under load stays a member.
/// </summary>
internal static class ClusterBench
{
    private const string Group = "multimodel-bench";
    private const string Path = $"/models/{Group}/invocations";

    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Console.Error.WriteLine("cluster: the harness needs root (network namespaces, tmpfs mounts, cgroups).");
            return 2;
        }
        var what = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "all";
        var seconds = int.Parse(BenchContext.Option(args, "--duration") ?? "10", CultureInfo.InvariantCulture);
        var cores = double.Parse(BenchContext.Option(args, "--cores") ?? "0.5", CultureInfo.InvariantCulture);
        var connections = int.Parse(BenchContext.Option(args, "--connections") ?? "16", CultureInfo.InvariantCulture);
        switch (what)
        {
            case "hot": await HotAsync(seconds, cores, connections, cancellationToken); break;
            case "cross": await CrossAsync(int.Parse(BenchContext.Option(args, "--calls") ?? "2000", CultureInfo.InvariantCulture)); break;
            case "failover": await FailoverAsync(); break;
            case "starved": await StarvedAsync(seconds, double.Parse(BenchContext.Option(args, "--cores") ?? "0.05", CultureInfo.InvariantCulture)); break;
            case "all":
                await HotAsync(seconds, cores, connections, cancellationToken);
                await CrossAsync(2000);
                await FailoverAsync();
                await StarvedAsync(20, 0.05);
                break;
            default:
                Console.Error.WriteLine("usage: cluster [hot|cross|failover|starved|all] [--duration 10] [--cores 0.5] [--connections 16] [--calls 2000]");
                return 2;
        }
        return 0;
    }

    /// <summary>wrk on one server held to <paramref name="cores"/>, then on two servers held to as much each (half the connections each).</summary>
    private static async Task HotAsync(int seconds, double cores, int connections, CancellationToken cancellationToken)
    {
        Console.WriteLine($"== cluster hot: one model, wrk -t2 -c{connections} {seconds} s in all, silos held to {cores} core each (load {BenchContext.LoadAverage()})");
        var results = new List<double>();
        foreach (var silos in new[] { 1, 2 })
        {
            await using var cluster = await ClusterHarness.StartAsync(silos, "--Flotilla:Fleet:HotModelCallsPerSecond=20");
            for (var i = 0; i < silos; i++)
            {
                cluster.LimitCpu(i, cores);
            }
            await DeployAsync(cluster);
            // Every door must hold its own copy before timing (the deployer's standby already is one on two silos).
            await using (var warm = LoadRun.Start([.. cluster.Servers.Select(s => s.Address)], cluster.AdminKey, Path, TinyModels.Row, 2))
            {
                await Eventually.TrueAsync(async () => (await CopiesAsync(cluster)) == silos, $"all {silos} silos hold the model", TimeSpan.FromSeconds(60));
            }
            var script = Script(cluster.AdminKey);
            var runs = await Task.WhenAll(cluster.Servers.Select(s =>
                FleetBench.Wrk.RunAsync(new Uri(s.Address, Path).ToString(), script, seconds, cancellationToken, connections / silos)));
            File.Delete(script);
            var total = runs.Sum(r => r.RequestsPerSecond);
            results.Add(total);
            Console.WriteLine(BenchContext.Invariant($"{silos} silo(s): {total,9:F0} req/s in all; {string.Join("; ", runs.Select(r => r.ToString()))}"));
        }
        Console.WriteLine(BenchContext.Invariant($"ratio 2 silos / 1 silo: {results[1] / results[0]:F2}x (bar >= 1.7x)"));
    }

    /// <summary>Sequential one-row calls, alternating rounds between the model's home door (scored there) and the other door (one grain call across).</summary>
    private static async Task CrossAsync(int calls)
    {
        Console.WriteLine($"== cluster cross: one client, {calls} sequential calls per door and round, 3 rounds (load {BenchContext.LoadAverage()})");
        await using var cluster = await ClusterHarness.StartAsync(2, "--Flotilla:Fleet:HotModelCallsPerSecond=0", "--Flotilla:Fleet:StandbyCopies=0");
        var home = await DeployAsync(cluster);
        var doors = new[] { home, 1 - home };
        var samples = doors.ToDictionary(d => d, _ => new List<double>());
        using var local = Client(cluster, home);
        using var remote = Client(cluster, 1 - home);
        for (var round = 0; round < 3; round++)
        {
            foreach (var (door, client) in new[] { (home, local), (1 - home, remote) })
            {
                for (var i = 0; i < calls; i++)
                {
                    var started = Stopwatch.GetTimestamp();
                    using var response = await client.PostAsync(Path, new StringContent(TinyModels.Row, Encoding.UTF8, "text/csv"));
                    response.EnsureSuccessStatusCode();
                    if (i >= calls / 10)
                    {
                        samples[door].Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                    }
                }
            }
        }
        var p50Local = Percentile(samples[home], 0.5);
        var p50Remote = Percentile(samples[1 - home], 0.5);
        Console.WriteLine(BenchContext.Invariant(
            $"door of the home (local): p50 {p50Local:F0} us p99 {Percentile(samples[home], 0.99):F0} us; other door (cross-silo): p50 {p50Remote:F0} us p99 {Percentile(samples[1 - home], 0.99):F0} us"));
        Console.WriteLine(BenchContext.Invariant($"the cross-silo call adds {p50Remote - p50Local:F0} us at p50 (bar <= 200 us)"));
    }

    /// <summary>Three servers, load through the two doors that are not the model's home; the home is killed, then (in a new cluster) cut off.</summary>
    private static async Task FailoverAsync()
    {
        Console.WriteLine($"== cluster failover: 3 servers, 4 callers on each of the 2 other doors, the model's home killed / cut off (load {BenchContext.LoadAverage()})");
        foreach (var cut in new[] { false, true })
        {
            await using var cluster = await ClusterHarness.StartAsync(3, "--Flotilla:Fleet:HotModelCallsPerSecond=0");
            var home = await DeployAsync(cluster);
            int[] doors = [.. Enumerable.Range(0, 3).Where(i => i != home)];
            await using var load = LoadRun.Start([.. doors.Select(d => cluster.Servers[d].Address)], cluster.AdminKey, Path, TinyModels.Row);
            await Eventually.TrueAsync(() => load.Succeeded >= 500, "500 calls answered before the failure", TimeSpan.FromSeconds(60));
            var at = load.Now;
            var watch = Stopwatch.StartNew();
            await (cut ? cluster.CutAsync(home) : cluster.KillAsync(home));
            await cluster.WaitForInstancesAsync(2, doors, TimeSpan.FromSeconds(120));
            var declared = watch.Elapsed;
            await Eventually.TrueAsync(() => load.SucceededAfter(at) >= 1000, "1000 calls answered after the failure", TimeSpan.FromSeconds(60));
            var report = await load.StopAsync();
            Console.WriteLine(BenchContext.Invariant(
                $"{(cut ? "network cut" : "SIGKILL")}: failover gap (longest call around it) {report.LongestAround(at).TotalMilliseconds:F0} ms, {report.Failed.Count} of {report.Calls.Count} calls not 200, declared dead after {declared.TotalSeconds:F1} s"));
        }
    }

    /// <summary>One silo held to a sliver of a core while all three doors take load: does membership keep it?</summary>
    private static async Task StarvedAsync(int seconds, double cores)
    {
        Console.WriteLine($"== cluster starved: 3 servers, server a held to {cores} core, 4 callers per door for {seconds} s (load {BenchContext.LoadAverage()})");
        await using var cluster = await ClusterHarness.StartAsync(3);
        await DeployAsync(cluster);
        cluster.LimitCpu(0, cores);
        await using var load = LoadRun.Start([.. cluster.Servers.Select(s => s.Address)], cluster.AdminKey, Path, TinyModels.Row);
        var fewest = 3;
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(seconds))
        {
            var endpoint = await cluster.EndpointAsync(1);
            fewest = Math.Min(fewest, endpoint.GetProperty("totals").GetProperty("instances").GetInt32());
            await Task.Delay(500);
        }
        var report = await load.StopAsync();
        cluster.LimitCpu(0, null);
        Console.WriteLine($"fewest instances seen by server b: {fewest} of 3 (3: the starved silo was never declared dead); {report}");
    }

    /// <summary>Registers and approves the model; waits until every door serves it; returns its home server.</summary>
    private static async Task<int> DeployAsync(ClusterHarness cluster)
    {
        var package = await cluster.RegisterAsync(Group, TinyModels.Artifact(1), ApprovalStatus.Approved);
        for (var server = 0; server < cluster.Servers.Count; server++)
        {
            using var client = Client(cluster, server);
            await Eventually.TrueAsync(async () =>
            {
                using var response = await client.PostAsync(Path, new StringContent(TinyModels.Row, Encoding.UTF8, "text/csv"));
                return response.IsSuccessStatusCode;
            }, $"server {server} serves {Group}", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(200));
        }
        var model = (await cluster.EndpointAsync(0)).GetProperty("models").EnumerateArray()
            .Single(m => m.GetProperty("artifactSha256").GetString() == package.Artifact.Sha256);
        return cluster.ServerOf(model.GetProperty("home").GetString()!);
    }

    private static async Task<int> CopiesAsync(ClusterHarness cluster) =>
        (await cluster.EndpointAsync(0)).GetProperty("models").EnumerateArray().Select(m => m.GetProperty("copies").GetInt32()).DefaultIfEmpty(0).Max();

    private static HttpClient Client(ClusterHarness cluster, int server)
    {
        var client = cluster.Client(server);
        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        return client;
    }

    private static string Script(string key)
    {
        var script = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"flotilla-cluster-{Guid.NewGuid():N}.lua");
        File.WriteAllText(script,
            $"wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"text/csv\"\nwrk.headers[\"Accept\"] = \"text/csv\"\n" +
            $"wrk.headers[\"Authorization\"] = \"Bearer {key}\"\nwrk.body = \"{TinyModels.Row}\"\n");
        return script;
    }

    private static double Percentile(List<double> values, double q)
    {
        var sorted = values.Order().ToArray();
        return sorted[(int)Math.Min(sorted.Length - 1, q * sorted.Length)];
    }
}
