using System.Text.Json.Nodes;
using Flotilla.Cluster.Tests.Harness;
using Xunit.Abstractions;
using static Flotilla.Cluster.Tests.Pipelines.PipelineCluster;

namespace Flotilla.Cluster.Tests.Pipelines;

/// <summary>A Tune step's trials on every silo, when silos fail: none is lost, and the step says which silos took part.</summary>
[Collection(PipelineClusterCollection.Name)]
public sealed class TrialFailoverTests(PipelineCluster cluster, ITestOutputHelper output)
{
    private const int Owner = 0;
    private const int Worker = 1;
    private const int Silent = 2;

    // Every server runs on this machine without a CPU quota: each silo offers its cores.
    private static readonly int Cores = Environment.ProcessorCount;

    [ClusterFact]
    public async Task A_silo_killed_while_it_runs_trials_loses_none_and_one_that_does_not_answer_is_left_out_and_named()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await cluster.ReadyAsync();
        var (baseline, baselineTrials) = await cluster.BaselineAsync();
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s ready, baseline");
        // Frozen as the run starts: asked for its cores, it cannot answer within the run's start-up timeout. Woken once
        // the run is under way (its first trial kept), so membership has its vote again when the worker dies below
        // (or, declared dead meanwhile, it ends itself).
        await cluster.Harness.PauseAsync(Silent);
        var id = await cluster.StartAsync(Owner, LongTune("bc-long"));
        await cluster.TrialsAtLeastAsync(Owner, id, 1);
        await cluster.Harness.ResumeAsync(Silent);
        await cluster.TrialsAtLeastAsync(Owner, id, 1, trials => trials.Any(t => Ran(t) == Worker));
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s a trial ran on the worker");

        // The worker is frozen mid-trial (its slots are busy while the run goes on), then killed.
        await cluster.Harness.PauseAsync(Worker);
        var killedWith = (await cluster.TrialsAsync(Owner, id)).Count;
        await cluster.Harness.KillAsync(Worker);
        var finished = await cluster.WaitFinishedAsync(Owner, id);
        output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s finished");
        var trials = await cluster.TrialsAsync(Owner, id);

        var tune = Step(finished, "Tune");
        var silos = tune["outputs"]!["silos"]!.AsArray().OfType<JsonObject>().ToDictionary(s => cluster.Harness.ServerOf(s["silo"]!.GetValue<string>()));
        var ownerLog = cluster.Harness.Servers[Owner].Output;
        output.WriteLine($"worker killed with {killedWith} of 40 trials kept; silos: {tune["outputs"]!["silos"]!.ToJsonString()}");
        Assert.True(finished["status"]!.GetValue<string>() == "Succeeded", finished.ToJsonString() + cluster.Harness.Logs());
        Assert.InRange(killedWith, 1, 39);
        Assert.Equal(40, trials.Count);
        Assert.DoesNotContain(trials, t => t["status"]!.GetValue<string>() == "Failed");
        Assert.All(trials, t => Assert.Contains(Ran(t), new[] { Owner, Worker }));
        // The trials the worker held when it died ran again on the owner, and the search is the one an uninterrupted run made.
        Assert.Contains($"lost silo {silos[Worker]["silo"]}", ownerLog);
        SameSearch(baselineTrials, trials);
        Assert.Equal(Best(baseline), Best(finished));

        // The step's outputs and log name every silo, its cores and share of the trials, the lost one and the one left out.
        Assert.Equal([Owner, Worker, Silent], silos.Keys.Order());
        Assert.Equal((Cores, (string?)null, (string?)null), Describe(silos[Owner]));
        Assert.Equal(Cores, silos[Worker]["cores"]!.GetValue<int>());
        Assert.NotNull(silos[Worker]["lost"]?.GetValue<string>());
        Assert.Equal(0, silos[Silent]["cores"]!.GetValue<int>());
        Assert.NotNull(silos[Silent]["leftOut"]?.GetValue<string>());
        Assert.Equal(trials.Count(t => t["silo"] is not null), silos.Values.Sum(s => s["trials"]!.GetValue<int>()));
        var log = tune["log"]!.GetValue<string>();
        Assert.Contains($"trials on 2 silos: {silos[Owner]["silo"]} ({Cores} cores), {silos[Worker]["silo"]} ({Cores} cores); left out: {silos[Silent]["silo"]} (", log);
        Assert.Contains("trials per silo: ", log);
    }

    private int Ran(JsonObject trial) => trial["silo"]?.GetValue<string>() is { } silo ? cluster.Harness.ServerOf(silo) : -1;

    private static (int Cores, string? LeftOut, string? Lost) Describe(JsonObject silo) =>
        (silo["cores"]!.GetValue<int>(), silo["leftOut"]?.GetValue<string>(), silo["lost"]?.GetValue<string>());
}
