// One entry point for every benchmark suite: `dotnet run -c Release --project bench/Flotilla.Bench -- <suite> [options]`.
// Each suite adds one line to this table; see bench/README.md.
var suites = new Dictionary<string, Func<string[], CancellationToken, Task<int>>>(StringComparer.OrdinalIgnoreCase)
{
    ["tuning"] = Flotilla.Bench.Tuning.TuningBench.RunAsync,
    ["fleet"] = Flotilla.Bench.Fleet.FleetBench.RunAsync,
    ["learning"] = Flotilla.Bench.Learning.LearningBench.RunAsync,
    ["registry"] = Flotilla.Bench.Registry.RegistryBench.RunAsync,
    ["engine"] = Flotilla.Bench.Engine.EngineBench.RunAsync,
    ["threshold"] = Flotilla.Bench.Threshold.ThresholdBench.RunAsync,
    ["forest"] = Flotilla.Bench.Forest.ForestBench.RunAsync,
    ["scaling"] = Flotilla.Bench.Scaling.ScalingBench.RunAsync,
    ["batch"] = Flotilla.Bench.BatchScoring.BatchScoringBench.RunAsync,
    ["cluster"] = Flotilla.Bench.Cluster.ClusterBench.RunAsync,
    ["cluster-tune"] = Flotilla.Bench.ClusterTune.ClusterTuneBench.RunAsync,
    ["ensemble"] = Flotilla.Bench.Ensemble.EnsembleBench.RunAsync,
};

if (args.Length == 0 || !suites.TryGetValue(args[0], out var run))
{
    Console.Error.WriteLine($"usage: Flotilla.Bench <{string.Join('|', suites.Keys)}> [options]");
    return 2;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
return await run(args[1..], cancel.Token);
