namespace Flotilla.Tuning.Tests;

public sealed class PruningTests
{
    private static TuningOptions Options(PruningMode pruning, TuningStrategy strategy = TuningStrategy.Random) => new()
    {
        MaxTrials = 40,
        MaxParallelTrials = 1,
        Strategy = strategy,
        Pruning = pruning,
        SearchSpaces = [FunctionExecutor.Bowl, FunctionExecutor.Flat],
    };

    [Fact]
    public async Task The_median_pruner_stops_trials_below_the_median_and_keeps_the_best_one()
    {
        var unpruned = await new Tuner().RunAsync(new FunctionExecutor(FunctionExecutor.Known), Options(PruningMode.None));
        var pruned = await new Tuner().RunAsync(new FunctionExecutor(FunctionExecutor.Known), Options(PruningMode.Median));

        var stopped = pruned.Trials.Where(t => t.Status == TrialStatus.Pruned).ToList();
        Assert.True(stopped.Count >= 10, $"{stopped.Count} pruned");
        Assert.All(stopped, t =>
        {
            Assert.InRange(t.FoldScores.Count, 1, 4);
            Assert.StartsWith("median pruner: running mean", t.Reason);
        });
        Assert.All(pruned.Trials.Take(5), t => Assert.Equal(TrialStatus.Complete, t.Status));
        Assert.Equal(TunerTests.Essence(unpruned.Best), TunerTests.Essence(pruned.Best));
        Assert.Equal(stopped.Count, pruned.Pruned);
    }

    [Fact]
    public async Task Successive_halving_prunes_only_at_the_rungs_after_one_and_three_folds()
    {
        var result = await new Tuner().RunAsync(new FunctionExecutor(FunctionExecutor.Known), Options(PruningMode.SuccessiveHalving));

        var stopped = result.Trials.Where(t => t.Status == TrialStatus.Pruned).ToList();
        Assert.True(stopped.Count >= 10, $"{stopped.Count} pruned");
        Assert.All(stopped, t => Assert.Contains(t.FoldScores.Count, new[] { 1, 3 }));
        Assert.Contains("top 1/3", stopped[0].Reason);
        Assert.Equal(result.Trials.Where(t => t.Status == TrialStatus.Complete).MaxBy(t => t.Mean), result.Best);
    }

    [Fact]
    public async Task Tpe_with_pruning_still_finds_the_optimum_region()
    {
        var result = await new Tuner().RunAsync(new FunctionExecutor(FunctionExecutor.Known), Options(PruningMode.Median, TuningStrategy.Tpe) with { MaxTrials = 50 });

        Assert.Equal("Bowl", result.Best.Algorithm);
        Assert.True(result.Best.Mean > 0.9, $"best {result.Best.Mean}");
    }
}
