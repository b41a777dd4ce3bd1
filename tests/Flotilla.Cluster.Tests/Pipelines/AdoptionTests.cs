using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Flotilla.Cluster.Tests.Harness;
using Flotilla.Testing;
using Xunit.Abstractions;
using static Flotilla.Cluster.Tests.Pipelines.PipelineCluster;

namespace Flotilla.Cluster.Tests.Pipelines;

/// <summary>
/// An owner that dies or stalls mid-Tune: another machine adopts the execution within the lease plus 5 s and finishes
/// it from the bucket and the database alone; an owner that wakes after losing it changes nothing.
/// </summary>
[Collection(PipelineClusterCollection.Name)]
public sealed class AdoptionTests(PipelineCluster cluster, ITestOutputHelper output)
{
    private const int Owner = 0;
    private const int Observer = 1;

    [ClusterFact]
    public async Task An_owner_killed_mid_tuning_is_adopted_within_the_lease_and_the_execution_succeeds_with_its_trials_kept_and_the_same_best()
    {
        await cluster.ReadyAsync();
        var (baseline, baselineTrials) = await cluster.BaselineAsync();
        var id = await cluster.StartAsync(Owner, LongTune("bc-long"));
        await cluster.TrialsAtLeastAsync(Observer, id, 8);

        // Frozen first, so the moment is caught mid-Tune for certain, then killed: no shutdown code runs.
        await cluster.Harness.PauseAsync(Owner);
        var kept = await cluster.SettledTrialsAsync(Observer, id);
        var caught = await cluster.ExecutionAsync(Observer, id);
        var epoch = await cluster.EpochAsync(id);
        await cluster.Harness.KillAsync(Owner);
        var clock = Stopwatch.StartNew();
        await Eventually.TrueAsync(async () => await cluster.EpochAsync(id) > epoch, "another machine claims the execution",
            TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(100));
        var adoptedAfter = clock.Elapsed;
        var finished = await cluster.WaitFinishedAsync(Observer, id);
        var trials = await cluster.TrialsAsync(Observer, id);

        output.WriteLine($"killed with {kept.Count} of 40 trials kept; adopted {adoptedAfter.TotalSeconds:0.00} s after the kill (lease {LeaseSeconds} s, scan 1 s)");
        Assert.Equal("Executing", Step(caught, "Tune")["status"]!.GetValue<string>());
        Assert.InRange(kept.Count, 8, 39);
        Assert.True(adoptedAfter <= AdoptionBound, $"adopted {adoptedAfter.TotalSeconds:0.0} s after the kill, more than the lease ({LeaseSeconds} s) + 5 s");
        Assert.True(finished["status"]!.GetValue<string>() == "Succeeded", finished.ToJsonString() + cluster.Harness.Logs());
        var tune = Step(finished, "Tune");
        var log = tune["log"]!.GetValue<string>();
        Assert.True(log.Contains($"resuming: {kept.Count} of 40 trials were already completed and are kept", StringComparison.Ordinal), log);
        foreach (var before in kept)
        {
            Assert.Equal(before.ToJsonString(), trials.Single(t => t["number"]!.GetValue<int>() == before["number"]!.GetValue<int>()).ToJsonString());
        }
        // Resumed on other silos, the search is the one an uninterrupted run with the same seed made.
        SameSearch(baselineTrials, trials);
        Assert.Equal(Best(baseline), Best(finished));
    }

    [ClusterFact]
    public async Task An_owner_paused_past_its_lease_registers_deploys_and_marks_nothing_once_it_runs_again()
    {
        const string group = "multimodel-bc-fenced";
        await cluster.ReadyAsync();
        await cluster.UploadAsync(Owner, "bc-fenced");
        // Approved: a registration by the stalled owner would also deploy.
        var id = await cluster.StartAsync(Owner, LongTune("bc-fenced", approval: "Approved"));
        await cluster.TrialsAtLeastAsync(Observer, id, 8);
        var epoch = await cluster.EpochAsync(id);

        await cluster.Harness.PauseAsync(Owner);
        var clock = Stopwatch.StartNew();
        await Eventually.TrueAsync(async () => await cluster.EpochAsync(id) > epoch, "another machine adopts the execution",
            TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(100));
        var adoptedAfter = clock.Elapsed;
        // Woken at once, while the adopter runs the rest: the stalled owner's Tune step is mid-run, its lease long gone.
        await cluster.Harness.ResumeAsync(Owner);
        var finished = await cluster.WaitFinishedAsync(Observer, id);
        var settled = await SnapshotAsync(id);
        var owner = cluster.Harness.Servers[Owner];
        await Eventually.TrueAsync(() => owner.HasExited || owner.Output.Contains("another server holds it now", StringComparison.Ordinal),
            "the woken owner stopped the execution (or ended, its silo declared dead)", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(200));
        var after = await SnapshotAsync(id);
        using var client = cluster.Harness.Client(Observer);
        var packages = (await client.GetFromJsonAsync<JsonArray>($"/api/registry/groups/{group}/packages"))!;
        var deployments = await Eventually.ValueAsync(async () => (await client.GetFromJsonAsync<JsonArray>($"/api/registry/groups/{group}/deployments"))!,
            history => history.Count > 0, "the registered version is deployed", TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(200));

        output.WriteLine($"adopted {adoptedAfter.TotalSeconds:0.00} s after the pause; the woken owner {(owner.HasExited ? "ended" : "stopped the execution")}");
        Assert.True(finished["status"]!.GetValue<string>() == "Succeeded", finished.ToJsonString() + cluster.Harness.Logs());
        Assert.All(finished["steps"]!.AsArray(), s => Assert.True(s!["status"]!.GetValue<string>() is "Succeeded" or "Skipped", s.ToJsonString()));
        Assert.Equal(settled, after);
        Assert.Equal(40, (await cluster.TrialsAsync(Observer, id)).Count);
        var package = Assert.Single(packages);
        Assert.Equal(Step(finished, "Register")["outputs"]!["packageId"]!.GetValue<string>(), package!["id"]!.GetValue<string>());
        Assert.Equal(package["id"]!.GetValue<string>(), Assert.Single(deployments)!["packageId"]!.GetValue<string>());
    }

    /// <summary>The execution, its steps and its trials as stored: what no fenced server may change.</summary>
    private async Task<string> SnapshotAsync(string id) =>
        new JsonObject
        {
            ["execution"] = await cluster.ExecutionAsync(Observer, id),
            ["trials"] = new JsonArray([.. (await cluster.TrialsAsync(Observer, id)).Select(t => t.DeepClone())]),
        }.ToJsonString();
}
