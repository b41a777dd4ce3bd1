using System.Globalization;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;
using static Flotilla.Bench.BenchContext;

namespace Flotilla.Bench.Threshold;

/// <summary>
/// What the decision threshold does to the labels: for every shared dataset (label CLASS), every family with its
/// default hyper-parameters and several split seeds, the cut is chosen as the Refit step chooses it — by F1 and by
/// balanced accuracy on 5-fold out-of-fold probabilities of the training rows — and the model fit on the training
/// rows is scored on the test rows at that cut and at 0.5 (the baseline, same model, same rows).
/// Usage: threshold [--datasets DIR] [--seeds 42,43,44,45,46]
/// </summary>
internal static class ThresholdBench
{
    public static Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var folder = Option(args, "--datasets") ?? Path.Combine(RepositoryRoot(), "..", "shared", "datasets");
        var seeds = (Option(args, "--seeds") ?? "42,43,44,45,46").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        Console.WriteLine($"# decision threshold benchmark — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, split 0.2 stratified, seeds {string.Join(",", seeds)}, 5-fold out-of-fold cut");
        Console.WriteLine();
        Console.WriteLine("Means over the seeds, on the test rows. Ratio = at the chosen cut / at 0.5 (same model, same rows).");
        Console.WriteLine();
        Console.WriteLine("| dataset | family | F1 cut | F1 at 0.5 | F1 at cut | ratio | BA cut | BA at 0.5 | BA at cut | ratio |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
        var all = new List<Row>();
        foreach (var file in Directory.GetFiles(folder, "*.csv").Order(StringComparer.Ordinal))
        {
            var table = TableReader.Read(file, new CsvOptions("CLASS"), ct);
            foreach (var algorithm in AlgorithmCatalog.All)
            {
                var rows = seeds.Select(seed => Measure(table, algorithm, seed, ct)).ToList();
                all.AddRange(rows);
                Print(Path.GetFileNameWithoutExtension(file), algorithm.Name, rows);
            }
        }
        Print("all", "all", all);
        Console.WriteLine();
        var f1Better = all.Count(r => r.F1AtCut > r.F1AtHalf + 1e-12);
        var f1Worse = all.Count(r => r.F1AtCut < r.F1AtHalf - 1e-12);
        var baBetter = all.Count(r => r.BaAtCut > r.BaAtHalf + 1e-12);
        var baWorse = all.Count(r => r.BaAtCut < r.BaAtHalf - 1e-12);
        Console.WriteLine(Invariant($"Of {all.Count} (dataset, family, seed) runs: the F1 cut raised test F1 in {f1Better}, lowered it in {f1Worse}; the balanced-accuracy cut raised test BA in {baBetter}, lowered it in {baWorse}."));
        return Task.FromResult(0);
    }

    private sealed record Row(double F1Cut, double F1AtHalf, double F1AtCut, double BaCut, double BaAtHalf, double BaAtCut);

    private static Row Measure(Table table, IAlgorithm algorithm, int seed, CancellationToken ct)
    {
        var (train, test) = table.Split(0.2, stratify: true, seed);
        var outOfFold = CrossValidation.Run(algorithm, HyperParameters.Empty, train, 5, Scorer.RocAuc, seed, null, ct).OutOfFold!;
        var labels = Enumerable.Range(0, train.RowCount).Select(train.Label).ToArray();
        var f1Cut = DecisionThreshold.Parse("f1").Choose(labels, [.. outOfFold]);
        var baCut = DecisionThreshold.Parse("balanced_accuracy").Choose(labels, [.. outOfFold]);
        var model = algorithm.Fit(train, HyperParameters.Empty, seed, ct);
        var testLabels = Enumerable.Range(0, test.RowCount).Select(test.Label).ToArray();
        var probabilities = model.PredictProbabilities(test);
        ConfusionMatrix At(double cut) => Evaluator.Report(testLabels, probabilities, table.LabelMapping, cut).ConfusionMatrix;
        return new Row(f1Cut, At(0.5).F1, At(f1Cut).F1, baCut, At(0.5).BalancedAccuracy, At(baCut).BalancedAccuracy);
    }

    private static void Print(string dataset, string family, List<Row> rows)
    {
        double Mean(Func<Row, double> f) => rows.Average(f);
        Console.WriteLine(Invariant(
            $"| {dataset} | {family} | {Mean(r => r.F1Cut):0.###} | {Mean(r => r.F1AtHalf):0.0000} | {Mean(r => r.F1AtCut):0.0000} | {Mean(r => r.F1AtCut) / Mean(r => r.F1AtHalf):0.000} | {Mean(r => r.BaCut):0.###} | {Mean(r => r.BaAtHalf):0.0000} | {Mean(r => r.BaAtCut):0.0000} | {Mean(r => r.BaAtCut) / Mean(r => r.BaAtHalf):0.000} |"));
    }
}
