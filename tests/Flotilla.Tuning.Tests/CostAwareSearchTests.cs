using Flotilla.Learning.Algorithms;
using Flotilla.Tuning.Sampling;
using Microsoft.Extensions.Time.Testing;

namespace Flotilla.Tuning.Tests;

public sealed class CostAwareSearchTests
{
    // Trees gets better with more trees and costs a second per fold per 50 trees; Cheap is quick and mediocre.
    private static readonly SearchSpace Trees = new("Trees", [ParameterSpec.Integer("n_estimators", 50, 500), ParameterSpec.Float("x", 0, 1)]);
    private static readonly SearchSpace Cheap = new("Cheap", [ParameterSpec.Float("y", 0, 1)]);

    private static double Score(string algorithm, HyperParameters p) => algorithm == "Trees"
        ? 0.9 - Math.Pow(p.GetDouble("x", 0) - 0.3, 2) + (0.0001 * p.GetDouble("n_estimators", 0))
        : 0.5 + (0.1 * p.GetDouble("y", 0));

    private static TimeSpan FoldSeconds(TrialRequest t) =>
        TimeSpan.FromSeconds(t.Algorithm == "Trees" ? t.Parameters.GetDouble("n_estimators", 0) / 50 : 0.2);

    private static TuningOptions Options(TimeSpan? budget) => new()
    {
        MaxTrials = 60,
        MaxParallelTrials = 1,
        Seed = 5,
        SearchSpaces = [Trees, Cheap],
        Pruning = PruningMode.None,
        WallClockBudget = budget,
    };

    private static async Task<TuningResult> RunAsync(TimeSpan? budget)
    {
        var clock = new FakeTimeProvider();
        var executor = new FunctionExecutor(Score) { BeforeFold = (t, _) => clock.Advance(FoldSeconds(t)) };
        return await new Tuner(clock).RunAsync(executor, Options(budget));
    }

    [Fact]
    public async Task Under_a_budget_each_family_starts_cheap_costs_are_learned_and_more_trials_finish_than_blind_search_would()
    {
        var budget = TimeSpan.FromSeconds(150);

        var aware = await RunAsync(budget);
        var blind = await RunAsync(null);

        Assert.Equal(("Trees", 50.0), (aware.Trials[0].Algorithm, aware.Trials[0].Parameters["n_estimators"].Number!.Value));
        Assert.Equal("Cheap", aware.Trials[1].Algorithm);
        // The blind search in the same 150 s of trials: what it would have finished before the budget ran out.
        var elapsed = 0.0;
        var blindFinished = blind.Trials.TakeWhile(t => (elapsed += t.Seconds) <= budget.TotalSeconds).Count();
        var awareFinished = aware.Trials.Count(t => t.Status == TrialStatus.Complete);
        Assert.True(awareFinished > blindFinished, $"cost-aware {awareFinished} trials, blind {blindFinished}");
        var spent = aware.Budget!;
        Assert.Equal(150, spent.BudgetSeconds);
        Assert.Equal(2, spent.CheapStarts);
        Assert.True(spent.Replaced > 0);
        Assert.InRange(spent.StoppedByBudget, 0, 1);
        Assert.Equal(aware.Trials.Sum(t => t.Seconds), spent.Families.Sum(f => f.Seconds), 6);
        Assert.Equal(aware.Trials.Count(t => t.Algorithm == "Trees"), spent.Families.Single(f => f.Algorithm == "Trees").Trials);
        Assert.Contains("cheap first trials", spent.Describe());
    }

    [Fact]
    public async Task Without_a_budget_the_proposals_are_exactly_the_strategys_own_and_nothing_is_reported()
    {
        var first = await RunAsync(null);
        var again = await RunAsync(null);

        Assert.Null(first.Budget);
        Assert.Equal(first.Trials.Select(TunerTests.Essence), again.Trials.Select(TunerTests.Essence));
        var tpe = new TpeSampler([Trees, Cheap], 5);
        foreach (var trial in first.Trials)
        {
            // Parallelism 1: trial n's proposal saw every trial before it.
            var proposal = tpe.Propose(trial.Number, [.. first.Trials.Take(trial.Number)]);
            Assert.Equal((proposal.Algorithm, proposal.Parameters.ToString()), (trial.Algorithm, trial.Parameters.ToString()));
        }
    }

    [Fact]
    public void The_cost_model_scales_a_familys_median_rate_by_the_work_its_parameters_ask_for()
    {
        HyperParameters Of(int trees, string features) => HyperParameters.Empty.With("n_estimators", trees).With("max_depth", 10).With("max_features", features);
        TrialRecord Finished(int n, int trees, double seconds, int folds) =>
            new(n, "RandomForest", Of(trees, "sqrt"), [.. Enumerable.Repeat(0.9, folds)], 0.9, folds == 5 ? TrialStatus.Complete : TrialStatus.Pruned, null, seconds);

        // 100 trees in 10 s over 5 folds; 200 trees pruned after 1 fold in 4 s (20 s for 5): the same rate.
        TrialRecord[] history = [Finished(0, 100, 10, 5), Finished(1, 200, 4, 1)];

        Assert.Equal(40, TrialCost.Estimate(new Proposal("RandomForest", Of(100, "all")), history, 5)!.Value, 9);
        Assert.Equal(50, TrialCost.Estimate(new Proposal("RandomForest", Of(500, "sqrt")), history, 5)!.Value, 9);
        Assert.Null(TrialCost.Estimate(new Proposal("NeuralNet", HyperParameters.Empty), history, 5));
        var cheapest = TrialCost.Cheapest(AlgorithmCatalog.Get("RandomForest").Space, Of(400, "all").With("criterion", "entropy"));
        Assert.Equal((50.0, 5.0, "entropy"), (cheapest["n_estimators"].Number!.Value, cheapest["max_depth"].Number!.Value, cheapest["criterion"].Text));
        Assert.NotEqual("all", cheapest["max_features"].Text);
    }
}
