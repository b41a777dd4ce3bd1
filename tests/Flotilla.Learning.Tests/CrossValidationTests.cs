using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Evaluation;

namespace Flotilla.Learning.Tests;

public sealed class CrossValidationTests
{
    [Fact]
    public void The_same_seed_gives_the_same_fold_scores()
    {
        var train = Datasets.Banknote.Split(0.2, true, 42).Train;
        foreach (var name in new[] { "LightGBM", "NeuralNet", "RandomForest" })
        {
            var algorithm = AlgorithmCatalog.Get(name);
            var hp = name == "RandomForest" ? HyperParameters.Empty.With("n_estimators", 50) : HyperParameters.Empty;

            var first = CrossValidation.Run(algorithm, hp, train, 5, Scorer.RocAuc, 7, null, CancellationToken.None);
            // A fresh table with the same rows gets freshly prepared folds: determinism, not caching.
            var again = CrossValidation.Run(algorithm, hp, Datasets.Banknote.Split(0.2, true, 42).Train, 5, Scorer.RocAuc, 7, null, CancellationToken.None);

            Assert.Equal(5, first.FoldScores.Count);
            Assert.Equal(first.FoldScores, again.FoldScores);
            Assert.Equal(first.FoldScores.Average(), first.Mean);
            Assert.True(first.Mean > 0.99, $"{name}: {first.Mean}");
        }
    }

    [Fact]
    public void Parallel_trials_on_shared_folds_score_as_sequential_ones()
    {
        var folds = CrossValidation.Prepare(Datasets.BreastCancer.Split(0.2, true, 9).Train, 3, 9);
        var trials = new[] { "LightGBM", "LogisticRegression", "XGBoost", "LightGBM", "LogisticRegression", "RandomForest" }
            .Select((name, i) => (Algorithm: AlgorithmCatalog.Get(name), Hp: i < 3 ? HyperParameters.Empty : AlgorithmCatalog.Get(name).Defaults))
            .ToArray();

        var parallel = new CrossValidationResult[trials.Length];
        Parallel.For(0, trials.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
            parallel[i] = CrossValidation.Run(trials[i].Algorithm, trials[i].Hp, folds, Scorer.RocAuc, null, CancellationToken.None));

        for (var i = 0; i < trials.Length; i++)
        {
            var sequential = CrossValidation.Run(trials[i].Algorithm, trials[i].Hp, folds, Scorer.RocAuc, null, CancellationToken.None);
            Assert.Equal(sequential.FoldScores, parallel[i].FoldScores);
        }
    }

    [Fact]
    public void Folds_are_stratified_and_cover_every_row_once()
    {
        var train = Datasets.BreastCancer;
        var folds = CrossValidation.Prepare(train, 5, 3);

        for (var f = 0; f < 5; f++)
        {
            var rows = Enumerable.Range(0, train.RowCount).Where(r => folds.FoldOf(r) == f).ToList();
            var positives = rows.Count(train.Label);
            Assert.InRange(rows.Count, 113, 115);
            Assert.InRange(positives, 71, 72);
        }

        Assert.Same(folds, CrossValidation.Prepare(train, 5, 3));
    }

    [Fact]
    public void The_callback_can_stop_a_run_after_any_fold()
    {
        var folds = CrossValidation.Prepare(Datasets.Banknote, 5, 1);
        var seen = new List<(int, double)>();

        var result = CrossValidation.Run(AlgorithmCatalog.Get("NaiveBayes"), HyperParameters.Empty, folds, Scorer.Accuracy,
            (fold, score) =>
            {
                seen.Add((fold, score));
                return fold < 1;
            },
            CancellationToken.None);

        Assert.True(result.Stopped);
        Assert.Equal([0, 1], seen.Select(s => s.Item1));
        Assert.Equal(seen.Select(s => s.Item2), result.FoldScores);
    }

    [Fact]
    public void Log_loss_fold_scores_are_negated_so_higher_is_better()
    {
        var result = CrossValidation.Run(AlgorithmCatalog.Get("LogisticRegression"), HyperParameters.Empty, Datasets.Banknote, 3,
            Scorer.Parse("log_loss"), 1, null, CancellationToken.None);

        Assert.All(result.FoldScores, s => Assert.InRange(s, -0.2, 0));
    }

    [Fact]
    public void Too_few_rows_of_a_class_for_the_folds_is_refused()
    {
        var tiny = Datasets.Banknote.Subset([0, 1, 2, 3, 1000, 1001]);

        var error = Assert.Throws<ArgumentException>(() => CrossValidation.Prepare(tiny, 5, 1));

        Assert.Contains("at least 5 rows of each class", error.Message);
    }

    [Fact]
    public void Cancellation_stops_a_run()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();

        Assert.ThrowsAny<OperationCanceledException>(() =>
            CrossValidation.Run(AlgorithmCatalog.Get("XGBoost"), HyperParameters.Empty, Datasets.Banknote, 5, Scorer.RocAuc, 1, null, cancel.Token));
    }
}
