using System.Diagnostics;
using System.Net;
using Flotilla.Cluster.Tests.Harness;
using Flotilla.Registry;
using Flotilla.Testing;
using Xunit.Abstractions;

namespace Flotilla.Cluster.Tests;

/// <summary>
/// The serving side of a cluster with no shared disk: three servers, PostgreSQL and s3rver, a model deployed
/// from the bucket, load through the front doors while a silo is killed or cut off.
/// </summary>
public sealed class ServingFailoverTests(ITestOutputHelper output)
{
    private const string Group = "multimodel-harness";
    private const string Path = $"/models/{Group}/invocations";

    [ClusterFact]
    public async Task Killing_the_silo_that_holds_a_model_mid_load_fails_no_call()
    {
        // No hot copies: every call through the other doors crosses to the model's home, so the kill hits them all.
        await using var cluster = await ClusterHarness.StartAsync(3, "--Flotilla:Fleet:HotModelCallsPerSecond=0");
        var (sha, holder) = await DeployAsync(cluster);
        var doors = Others(cluster, holder);

        await using var load = LoadRun.Start([.. doors.Select(d => cluster.Servers[d].Address)], cluster.AdminKey, Path, TinyModels.Row);
        await Eventually.TrueAsync(() => load.Succeeded >= 200, "200 calls have been answered before the kill");
        var killedAt = load.Now;
        await cluster.KillAsync(holder);
        var survivor = await Eventually.ValueAsync(
            () => HoldersAsync(cluster, doors[0], sha), holders => holders.Any(h => h != holder), "a surviving silo holds the model",
            TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100));
        await Eventually.TrueAsync(() => load.SucceededAfter(killedAt) >= 200, "200 more calls are answered after the kill", TimeSpan.FromSeconds(30));
        var report = await load.StopAsync();

        output.WriteLine($"killed {cluster.Servers[holder].Machine.Name} at {killedAt.TotalSeconds:F2} s; {report}; " +
            $"longest call around the kill {report.LongestAround(killedAt).TotalMilliseconds:F0} ms; model now on {string.Join(", ", survivor)}");
        Assert.True(report.Failed.Count == 0, $"{report}\n{cluster.Logs()}");
        Assert.True(report.After(killedAt).Any(), "calls were answered after the kill");
    }

    [ClusterFact]
    public async Task A_hot_model_gets_a_copy_on_every_silo_that_calls_it_and_loses_no_call_when_its_home_is_killed()
    {
        await using var cluster = await ClusterHarness.StartAsync(3, "--Flotilla:Fleet:HotModelCallsPerSecond=20");
        var (sha, home) = await DeployAsync(cluster);
        var doors = Others(cluster, home);

        await using var load = LoadRun.Start([.. doors.Select(d => cluster.Servers[d].Address)], cluster.AdminKey, Path, TinyModels.Row);
        var copies = await Eventually.ValueAsync(() => HoldersAsync(cluster, doors[0], sha), holders => holders.Count == 3,
            "the model is held by all three silos", TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100));
        var endpoint = await cluster.EndpointAsync(doors[1]);
        var model = endpoint.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("artifactSha256").GetString() == sha);
        Assert.Equal(3, model.GetProperty("copies").GetInt32());
        var killedAt = load.Now;
        await cluster.KillAsync(home);
        await Eventually.TrueAsync(() => load.SucceededAfter(killedAt) >= 200, "200 calls are answered after the kill", TimeSpan.FromSeconds(30));
        var report = await load.StopAsync();

        output.WriteLine($"copies on {string.Join(", ", copies)}; killed home {cluster.Servers[home].Machine.Name} at {killedAt.TotalSeconds:F2} s; {report}");
        Assert.True(report.Failed.Count == 0, $"{report}\n{cluster.Logs()}");
    }

    [ClusterFact]
    public async Task A_cut_off_silo_holds_no_call_past_the_invocation_timeout_and_membership_declares_it_dead()
    {
        await using var cluster = await ClusterHarness.StartAsync(3, "--Flotilla:Fleet:HotModelCallsPerSecond=0");
        var (_, holder) = await DeployAsync(cluster);
        var doors = Others(cluster, holder);

        await using var load = LoadRun.Start([.. doors.Select(d => cluster.Servers[d].Address)], cluster.AdminKey, Path, TinyModels.Row);
        await Eventually.TrueAsync(() => load.Succeeded >= 200, "200 calls have been answered before the cut");
        var cutAt = load.Now;
        var watch = Stopwatch.StartNew();
        await cluster.CutAsync(holder);
        await cluster.WaitForInstancesAsync(2, doors, TimeSpan.FromSeconds(60));
        var declaredDead = watch.Elapsed;
        await Eventually.TrueAsync(() => load.SucceededAfter(cutAt) >= 200, "200 calls are answered after the cut", TimeSpan.FromSeconds(30));
        var report = await load.StopAsync();

        output.WriteLine($"cut {cluster.Servers[holder].Machine.Name} at {cutAt.TotalSeconds:F2} s; both others list 2 instances after " +
            $"{declaredDead.TotalSeconds:F1} s; {report}; longest call around the cut {report.LongestAround(cutAt).TotalMilliseconds:F0} ms");
        // Calls caught on the cut link end by the invocation's deadline: answered elsewhere, or 503 with Retry-After.
        Assert.All(report.Failed, c => Assert.True(c.Status == HttpStatusCode.ServiceUnavailable && c.RetryAfter, $"{c}\n{report}"));
        // The deadline is 2 s; the margin is the HTTP round trip on a loaded 2-core machine, not a retry.
        Assert.True(report.Longest < TimeSpan.FromSeconds(2.5), report.ToString());
    }

    private static int[] Others(ClusterHarness cluster, int server) => [.. Enumerable.Range(0, cluster.Servers.Count).Where(i => i != server)];

    /// <summary>
    /// Registers and approves version 1 of <see cref="Group"/>; waits until every door serves it; returns the model
    /// and its home, the server whose silo every door sends its calls to (a standby copy waits on one other).
    /// </summary>
    private static async Task<(string Sha256, int Holder)> DeployAsync(ClusterHarness cluster)
    {
        var package = await cluster.RegisterAsync(Group, TinyModels.Artifact(1), ApprovalStatus.Approved);
        for (var server = 0; server < cluster.Servers.Count; server++)
        {
            using var client = cluster.Client(server);
            await Eventually.TrueAsync(async () =>
            {
                using var response = await client.PostAsync(Path, new StringContent(TinyModels.Row, System.Text.Encoding.UTF8, "text/csv"));
                return response.StatusCode == HttpStatusCode.OK;
            }, $"server {server} serves {Group}", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(200));
        }
        var sha = package.Artifact.Sha256;
        var model = (await cluster.EndpointAsync(0)).GetProperty("models").EnumerateArray().Single(m => m.GetProperty("artifactSha256").GetString() == sha);
        var home = cluster.ServerOf(model.GetProperty("home").GetString()!);
        var holders = await HoldersAsync(cluster, 0, sha);
        Assert.Equal(2, holders.Count);
        Assert.Contains(home, holders);
        return (sha, home);
    }

    /// <summary>The servers whose silo holds <paramref name="sha256"/>, as server <paramref name="observer"/> lists them.</summary>
    private static async Task<IReadOnlyList<int>> HoldersAsync(ClusterHarness cluster, int observer, string sha256)
    {
        var endpoint = await cluster.EndpointAsync(observer);
        return [.. endpoint.GetProperty("instances").EnumerateArray()
            .Where(i => i.GetProperty("models").EnumerateArray().Any(m => m.GetProperty("artifactSha256").GetString() == sha256))
            .Select(i => cluster.ServerOf(i.GetProperty("silo").GetString()!))
            .Order()];
    }
}
