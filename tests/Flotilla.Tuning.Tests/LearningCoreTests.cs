using System.Globalization;
using System.Text;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Data;

namespace Flotilla.Tuning.Tests;

/// <summary>The tuner on the real learning core, in process, on a small generated table.</summary>
public sealed class LearningCoreTests
{
    // 240 rows, label = sign(a) XOR sign(b) with a little noise: trees and the MLP learn it, linear models and
    // naive Bayes cannot (AUC near 0.5), which gives the pruner something to prune.
    private static readonly Table Xor = Generate(240, seed: 3);

    private static Table Generate(int rows, int seed)
    {
        var random = new Random(seed);
        var csv = new StringBuilder("a,b,noise,label\n");
        for (var i = 0; i < rows; i++)
        {
            var (a, b, noise) = ((random.NextDouble() * 2) - 1, (random.NextDouble() * 2) - 1, random.NextDouble());
            var label = (a > 0) ^ (b > 0) ^ (random.NextDouble() < 0.05);
            csv.Append(CultureInfo.InvariantCulture, $"{a:0.####},{b:0.####},{noise:0.####},{(label ? "yes" : "no")}\n");
        }

        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(csv.ToString()));
        return TableReader.Read(stream, "xor.csv", new CsvOptions("label"), CancellationToken.None);
    }

    // Two cheap families, no pruning: every trial completes, so every one has out-of-fold probabilities to keep.
    private static readonly TuningOptions TwoFamilies = new()
    {
        MaxTrials = 6,
        MaxParallelTrials = 2,
        Folds = 3,
        Seed = 11,
        Algorithms = ["NaiveBayes", "LightGBM"],
        Pruning = PruningMode.None,
    };

    /// <summary>The trial's out-of-fold probabilities computed afresh, by the same cross-validation the tuner runs.</summary>
    private static IReadOnlyList<double>? OutOfFoldOf(TrialRecord trial) => Learning.Evaluation.CrossValidation.Run(
        AlgorithmCatalog.Get(trial.Algorithm), trial.Parameters, Xor, TwoFamilies.Folds, Learning.Evaluation.Scorer.RocAuc, TwoFamilies.Seed, null, CancellationToken.None).OutOfFold;

    [Fact]
    public async Task The_result_keeps_the_best_trials_out_of_fold_probabilities_and_none_for_a_best_trial_kept_from_an_earlier_run()
    {
        var result = await new Tuner().RunAsync(Xor, TwoFamilies);
        var resumed = await new Tuner().RunAsync(Xor, TwoFamilies with { Completed = result.Trials });

        Assert.NotNull(result.BestOutOfFold);
        Assert.Equal(OutOfFoldOf(result.Best), result.BestOutOfFold);
        Assert.Equal(result.Best.Number, resumed.Best.Number);
        Assert.Null(resumed.BestOutOfFold);
    }

    [Fact]
    public async Task With_KeepOutOfFold_the_best_complete_trials_keep_their_out_of_fold_probabilities_best_first()
    {
        var single = await new Tuner().RunAsync(Xor, TwoFamilies);
        var kept = await new Tuner().RunAsync(Xor, TwoFamilies with { KeepOutOfFold = 4 });

        Assert.Equal([single.Best.Number], single.OutOfFold.Select(k => k.Trial.Number));
        var expected = kept.Trials.Where(t => t.Status == TrialStatus.Complete).OrderByDescending(t => t.Mean).ThenBy(t => t.Number).Take(4);
        Assert.Equal(expected.Select(t => t.Number), kept.OutOfFold.Select(k => k.Trial.Number));
        Assert.Equal(kept.BestOutOfFold, kept.OutOfFold[0].Probabilities);
        Assert.Equal(OutOfFoldOf(kept.OutOfFold[3].Trial), kept.OutOfFold[3].Probabilities);
        // Keeping more changes nothing about the search itself.
        Assert.Equal(single.Trials.Select(TunerTests.Essence), kept.Trials.Select(TunerTests.Essence));
    }

    [Fact]
    public async Task Each_of_the_six_families_runs_as_a_trial_on_the_real_learners()
    {
        // A grid over spaces with no parameters has one point per family: its defaults.
        var options = new TuningOptions
        {
            MaxTrials = 6,
            MaxParallelTrials = 2,
            Folds = 3,
            Strategy = TuningStrategy.Grid,
            Pruning = PruningMode.None,
            SearchSpaces = [.. AlgorithmCatalog.Names.Select(n => new SearchSpace(n, []))],
        };

        var result = await new Tuner().RunAsync(Xor, options);

        Assert.Equal(AlgorithmCatalog.Names.Order(), result.Trials.Select(t => t.Algorithm).Order());
        Assert.All(result.Trials, t =>
        {
            Assert.Equal(TrialStatus.Complete, t.Status);
            Assert.Equal(3, t.FoldScores.Count);
        });
        Assert.Contains(result.Best.Algorithm, new[] { "RandomForest", "XGBoost", "LightGBM", "NeuralNet" });
        Assert.True(result.Best.Mean > 0.85, $"best {result.Best.Algorithm} {result.Best.Mean}");
        Assert.True(result.Trials.Single(t => t.Algorithm == "LogisticRegression").Mean < 0.7);
        Assert.Equal(Math.Min(2, Environment.ProcessorCount), result.EffectiveParallelism);
    }

    [Fact]
    public async Task Tpe_with_median_pruning_on_the_real_learners_prunes_the_weak_families_and_is_reproducible()
    {
        var options = new TuningOptions
        {
            MaxTrials = 16,
            MaxParallelTrials = 2,
            Folds = 3,
            Seed = 5,
            Pruning = PruningMode.Median,
            Algorithms = ["LightGBM", "LogisticRegression", "NaiveBayes"],
        };

        var first = await new Tuner().RunAsync(Xor, options);
        var second = await new Tuner().RunAsync(Xor, options);

        Assert.Equal(first.Trials.Select(TunerTests.Essence), second.Trials.Select(TunerTests.Essence));
        var pruned = first.Trials.Where(t => t.Status == TrialStatus.Pruned).ToList();
        Assert.NotEmpty(pruned);
        Assert.All(pruned, t => Assert.InRange(t.FoldScores.Count, 1, 2));
        Assert.Equal("LightGBM", first.Best.Algorithm);
        Assert.Equal(TrialStatus.Complete, first.Best.Status);
    }

    [Fact]
    public async Task A_trial_in_process_runs_on_a_thread_of_its_own_and_leaves_the_pool_to_the_rest()
    {
        var trial = new TrialRequest(0, "NaiveBayes", HyperParameters.Empty, 3, "roc_auc", 7);
        var onPool = new List<bool>();

        var outcome = await new InProcessTrialExecutor(Xor).RunAsync(trial, (_, _) =>
        {
            onPool.Add(Thread.CurrentThread.IsThreadPoolThread);
            return true;
        }, CancellationToken.None);

        Assert.Equal(3, outcome.FoldScores.Count);
        Assert.Equal([false, false, false], onPool);
    }

    [Fact]
    public async Task An_unknown_scorer_or_algorithm_is_refused_before_any_trial_runs()
    {
        var scorer = await Assert.ThrowsAsync<ArgumentException>(() => new Tuner().RunAsync(Xor, new TuningOptions { Scorer = "rmse" }));
        var algorithm = await Assert.ThrowsAsync<ArgumentException>(() => new Tuner().RunAsync(Xor, new TuningOptions { Algorithms = ["SVM"] }));

        Assert.Contains("Unknown scorer 'rmse'", scorer.Message);
        Assert.Contains("Unknown algorithm 'SVM'", algorithm.Message);
    }
}
