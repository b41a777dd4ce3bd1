using Flotilla.Learning.Algorithms;

namespace Flotilla.Tuning.Tests;

public sealed class StrategyTests
{
    private static readonly SearchSpace[] Spaces = [FunctionExecutor.Bowl, FunctionExecutor.Flat];

    private static TuningOptions Options(TuningStrategy strategy, int trials, int seed = 42) => new()
    {
        MaxTrials = trials,
        MaxParallelTrials = 1,
        Strategy = strategy,
        Pruning = PruningMode.None,
        Seed = seed,
        SearchSpaces = Spaces,
    };

    [Fact]
    public async Task Random_search_draws_every_family_uniformly_and_stays_inside_each_space()
    {
        var result = await new Tuner().RunAsync(new FunctionExecutor(FunctionExecutor.Known), Options(TuningStrategy.Random, 200));

        Assert.Equal(200, result.Trials.Count);
        var bowls = result.Trials.Count(t => t.Algorithm == "Bowl");
        Assert.InRange(bowls, 70, 130);
        foreach (var trial in result.Trials)
        {
            var space = Spaces.Single(s => s.Algorithm == trial.Algorithm);
            space.Validate(trial.Parameters);
            Assert.Equal(space.Parameters.Select(p => p.Name).Order(), trial.Parameters.Keys);
        }

        // c is log-uniform on [1e-4, 10]: a fifth of the draws per decade, so about 60% fall below 0.01.
        var cs = result.Trials.Where(t => t.Algorithm == "Bowl").Select(t => t.Parameters.GetDouble("c", 0)).ToList();
        Assert.InRange(cs.Count(c => c < 0.01) / (double)cs.Count, 0.4, 0.8);
        Assert.Equal(Enumerable.Range(1, 9), result.Trials.Where(t => t.Algorithm == "Bowl").Select(t => t.Parameters.GetInt("depth", 0)).Distinct().Order());
    }

    [Fact]
    public async Task Tpe_beats_random_search_on_a_known_function_averaged_over_ten_seeds()
    {
        double Regret(TuningResult r) => 1 - r.Best.Mean!.Value;
        var tpe = 0.0;
        var random = 0.0;
        for (var seed = 1; seed <= 10; seed++)
        {
            tpe += Regret(await new Tuner().RunAsync(new FunctionExecutor(FunctionExecutor.Known), Options(TuningStrategy.Tpe, 50, seed)));
            random += Regret(await new Tuner().RunAsync(new FunctionExecutor(FunctionExecutor.Known), Options(TuningStrategy.Random, 50, seed)));
        }

        Assert.True(tpe < 0.6 * random, $"TPE regret {tpe / 10:0.0000} should be well under random search's {random / 10:0.0000}");
    }

    [Fact]
    public async Task Tpe_spends_its_trials_after_start_up_on_the_better_family()
    {
        var result = await new Tuner().RunAsync(new FunctionExecutor(FunctionExecutor.Known), Options(TuningStrategy.Tpe, 40));

        var afterStartUp = result.Trials.Where(t => t.Number >= 20).ToList();
        Assert.True(afterStartUp.Count(t => t.Algorithm == "Bowl") >= 16, string.Join(", ", afterStartUp.Select(t => t.Algorithm)));
        Assert.Equal("Bowl", result.Best.Algorithm);
    }

    [Fact]
    public async Task Tpe_warm_started_from_earlier_trials_skips_the_random_start_up()
    {
        var earlier = await new Tuner().RunAsync(new FunctionExecutor(FunctionExecutor.Known), Options(TuningStrategy.Random, 30, seed: 9));

        var cold = await new Tuner().RunAsync(new FunctionExecutor(FunctionExecutor.Known), Options(TuningStrategy.Tpe, 10));
        var warm = await new Tuner().RunAsync(new FunctionExecutor(FunctionExecutor.Known), Options(TuningStrategy.Tpe, 10) with { WarmStart = earlier.Trials });

        Assert.Equal(10, warm.Trials.Count);
        Assert.All(warm.Trials, t => Assert.InRange(t.Number, 0, 9));
        Assert.True(warm.Trials.Count(t => t.Algorithm == "Bowl") >= 8, string.Join(", ", warm.Trials.Select(t => t.Algorithm)));
        Assert.True(warm.Best.Mean > cold.Best.Mean, $"warm {warm.Best.Mean} vs cold {cold.Best.Mean}");
    }

    [Fact]
    public async Task Grid_runs_every_point_of_a_small_space_once()
    {
        SearchSpace[] small =
        [
            new("Bowl", [ParameterSpec.Categorical("kind", ["a", "b"]), ParameterSpec.Integer("depth", 2, 6, step: 2)]),
            new("Flat", [ParameterSpec.Float("y", 0.001, 1, logScale: true)]),
        ];
        var options = Options(TuningStrategy.Grid, 60) with { SearchSpaces = small };

        var result = await new Tuner().RunAsync(new FunctionExecutor(FunctionExecutor.Known), options);

        Assert.Equal(6 + 5, result.Trials.Count);
        Assert.Equal(11, result.Trials.Select(t => t.Parameters).Distinct().Count());
        Assert.Equal([0.001, 0.0056, 0.0316, 0.1778, 1], result.Trials.Where(t => t.Algorithm == "Flat").Select(t => Math.Round(t.Parameters.GetDouble("y", 0), 4)).Order());
        Assert.Equal("b", result.Best.Parameters.GetString("kind", ""));
        Assert.Equal(6, result.Best.Parameters.GetInt("depth", 0));
    }

    [Fact]
    public async Task Grid_refuses_a_grid_larger_than_the_trial_budget_and_says_how_big_it_is()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            new Tuner().RunAsync(new FunctionExecutor(FunctionExecutor.Known), Options(TuningStrategy.Grid, 60)));

        Assert.Contains("Bowl 675", error.Message);
        Assert.Contains("Flat 10", error.Message);
        Assert.Contains("MaxTuningJobs is 60", error.Message);
    }

    [Fact]
    public async Task A_log_scale_range_starting_at_zero_is_refused_with_its_name()
    {
        var options = Options(TuningStrategy.Random, 5) with { SearchSpaces = [new("Bowl", [ParameterSpec.Float("c", 0, 1, logScale: true)])] };

        var error = await Assert.ThrowsAsync<ArgumentException>(() => new Tuner().RunAsync(new FunctionExecutor(FunctionExecutor.Known), options));

        Assert.Contains("Bowl.c", error.Message);
    }
    [Fact]
    public async Task Pruning_the_weaker_half_does_not_change_which_family_tpe_picks()
    {
        // The same scores, once as complete trials and once with the weaker half pruned after one fold at the same
        // running mean: pruning removes work, not information, so the family choice must not move (it did when the
        // spread behind the family choice counted complete trials only, and then piled trials onto the leader).
        // Scores spread over [0.8, 0.9) in both families, Flat's a little lower: close enough for the choice to hinge
        // on the spread.
        var random = await new Tuner().RunAsync(new FunctionExecutor(FunctionExecutor.Known), Options(TuningStrategy.Random, 40, seed: 3));
        var complete = random.Trials
            .Select(t => 0.8 + (0.1 * (t.Number * 17 % 40) / 40) - (t.Algorithm == "Flat" ? 0.005 : 0))
            .Zip(random.Trials, (score, t) => t with { FoldScores = [score, score], Mean = score })
            .ToList();
        var median = complete.Select(t => t.Mean!.Value).Order().ElementAt(20);
        var pruned = complete
            .Select(t => t.Mean < median ? t with { FoldScores = [t.Mean!.Value], Status = TrialStatus.Pruned } : t)
            .ToList();
        Assert.InRange(pruned.Count(t => t.Status == TrialStatus.Pruned), 15, 25);

        var sampler = Sampling.Sampler.Create(TuningStrategy.Tpe, Spaces, 42, 200);
        var unprunedFamilies = Enumerable.Range(40, 100).Select(n => sampler.Propose(n, complete).Algorithm).ToList();
        var prunedFamilies = Enumerable.Range(40, 100).Select(n => sampler.Propose(n, pruned).Algorithm).ToList();

        Assert.Equal(unprunedFamilies, prunedFamilies);
    }
}
