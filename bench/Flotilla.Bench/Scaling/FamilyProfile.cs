using System.Diagnostics;
using System.Globalization;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using static Flotilla.Bench.BenchContext;

namespace Flotilla.Bench.Scaling;

/// <summary>
/// `scaling --profile`: where one trial's time goes, family by family, at --rows (100,000 by default) of the scaling
/// table: a 5-fold CV at the family's defaults, the path the tuner takes, with the shared preparation (fold views,
/// slot statistics, the forest's bins — paid once per tuning run) apart from each fold's fit and validation scoring,
/// and inside a fit what can be timed from outside it: one pass of the ML.NET view (what encoding a row as a learner
/// reads it costs), LightGBM's dataset and first tree (a one-tree fit; the XGBoost booster's first tree alone), the passes L-BFGS makes over its view, the
/// MLP's compact copy of the rows. Times are CPU seconds of this process (the learners are single-threaded), so a busy
/// machine changes them less than wall time. <c>--set name=value,…</c> changes the defaults of the families that have
/// those hyper-parameters, to profile one slow trial's configuration.
/// </summary>
internal static class FamilyProfile
{
    public static Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var rows = int.Parse(Option(args, "--rows") ?? "100000", CultureInfo.InvariantCulture);
        var families = Option(args, "--families")?.Split(',') ?? [.. AlgorithmCatalog.Names];
        // --set n_estimators=450,max_features=all: one slow trial's configuration, over each family's defaults.
        var overrides = (Option(args, "--set")?.Split(',') ?? []).Select(a => a.Split('=', 2)).ToArray();
        Console.WriteLine($"# per-family trial profile — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average {LoadAverage()}");
        var path = Path.Combine(Path.GetTempPath(), $"flotilla-profile-{rows}-{Environment.ProcessId}.csv");
        try
        {
            ScalingBench.Generate(path, rows, seed: 42);
            var (train, _) = TableReader.Read(path, new CsvOptions("label"), ct).Split(0.2, stratify: true, seed: 42);
            Warm(ct);
            var folds = CrossValidation.Prepare(train, 5, 42);
            var views = Cpu(() => Enumerable.Range(0, folds.Folds).Select(f => folds[f]).ToArray());
            var statistics = Cpu(() => views.Result.Select(f => f.Train.Statistics).ToArray());
            var bins = Cpu(() => views.Result.Select(f => f.Train.Forest).ToArray());
            Console.WriteLine(Invariant($"{rows:N0} rows, {train.RowCount:N0} train, 5 folds of {views.Result[0].Train.Rows:N0}; encoded width {views.Result[0].Train.Width}"));
            Console.WriteLine();
            Console.WriteLine("Shared by every trial of a tuning run (once per run, CPU s for all 5 folds):");
            Console.WriteLine();
            Console.WriteLine("| fold views and schemas | slot statistics (standardizer) | forest bins |");
            Console.WriteLine("|---|---|---|");
            Console.WriteLine(Invariant($"| {views.Seconds:F2} | {statistics.Seconds:F2} | {bins.Seconds:F2} |"));
            Console.WriteLine();
            Console.WriteLine(overrides.Length == 0 ? "One trial at the family's defaults (CPU s):" : $"One trial at the family's defaults with {Option(args, "--set")} (CPU s):");
            Console.WriteLine();
            Console.WriteLine("| family | trial (5 folds) | fit per fold | validation scoring per fold | allocated per fit MB | inside one fit |");
            Console.WriteLine("|---|---|---|---|---|---|");
            foreach (var name in families)
            {
                var algorithm = (Algorithm)AlgorithmCatalog.Get(name);
                var hp = algorithm.Defaults;
                foreach (var pair in overrides.Where(o => algorithm.Space.Parameters.Any(p => p.Name == o[0])))
                {
                    hp = hp.With(pair[0], double.TryParse(pair[1], CultureInfo.InvariantCulture, out var number) ? number : pair[1]);
                }
                double fit = 0, score = 0;
                var allocated = GC.GetTotalAllocatedBytes(precise: true);
                foreach (var fold in views.Result)
                {
                    var predictor = Cpu(() => algorithm.FitEncoded(fold.Train, hp, 42, ct));
                    fit += predictor.Seconds;
                    score += Cpu(() => fold.Validation.Probabilities(predictor.Result)).Seconds;
                }

                allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
                Console.WriteLine(Invariant($"| {algorithm.Name} | {fit + score:F2} | {fit / folds.Folds:F2} | {score / folds.Folds:F3} | {allocated / 1e6 / folds.Folds:F0} | {Inside(algorithm, views.Result[0].Train, fit / folds.Folds, ct)} |"));
            }

            Console.WriteLine();
            Console.WriteLine($"load average {LoadAverage()}");
        }
        finally
        {
            File.Delete(path);
        }

        return Task.FromResult(0);
    }

    /// <summary>What of one fit can be timed apart from outside it.</summary>
    private static string Inside(Algorithm algorithm, EncodedData data, double fit, CancellationToken ct)
    {
        switch (algorithm.Name)
        {
            case "XGBoost":
            {
                // Our booster: the bins are shared (above), so a one-tree fit is one round's gradients and tree.
                var first = Cpu(() => algorithm.FitEncoded(data, algorithm.Defaults.With("n_estimators", 1), 42, ct)).Seconds;
                return Invariant($"first tree {first:F2}; the other {algorithm.Defaults["n_estimators"]} − 1 trees {fit - first:F2}");
            }
            case "LightGBM":
            {
                var pass = Cpu(() => Pass(data.DataView(ViewEncoding.Native, balanced: false))).Seconds;
                var first = Cpu(() => algorithm.FitEncoded(data, algorithm.Defaults.With("n_estimators", 1), 42, ct)).Seconds;
                return Invariant($"one pass of the view {pass:F3}; dataset + first tree {first:F2}; the other {algorithm.Defaults["n_estimators"]} − 1 trees {fit - first:F2}");
            }
            case "LogisticRegression":
            {
                // The scaled view encodes its rows once, as it is made.
                var (scaled, encoding) = Cpu(() => data.DataView(ViewEncoding.Scaled, balanced: false));
                var view = new CountingView(scaled);
                var pass = Cpu(() => Pass(view)).Seconds;
                view.Cursors = 0;
                // The family's own trainer settings at its defaults (C = 1, max_iter 100, one thread), on a view that counts its passes.
                var options = new LbfgsLogisticRegressionBinaryTrainer.Options { L2Regularization = 1, L1Regularization = 0, MaximumNumberOfIterations = 100, NumberOfThreads = 1 };
                new MLContext(42).BinaryClassification.Trainers.LbfgsLogisticRegression(options).Fit(view);
                return Invariant($"the scaled sparse rows encoded {encoding:F3}; one pass over them {pass:F3}; L-BFGS made {view.Cursors} passes ≈ {encoding + (view.Cursors * pass):F2} of encoding and reading");
            }
            case "NaiveBayes":
            {
                var values = new float[data.Schema.Features.Count];
                var z = new float[data.Width];
                var pass = Cpu(() =>
                {
                    for (var i = 0; i < data.Rows; i++)
                    {
                        data.EncodeStandardized(i, values, z);
                    }

                    return 0;
                }).Seconds;
                return Invariant($"two passes of standardized encoding, {pass:F3} each");
            }
            case "NeuralNet":
                return Invariant($"compact copy of the rows {Cpu(data.Values).Seconds:F3}; the rest is the epochs");
            case "RandomForest":
                return "growing the trees (the bins are shared, above)";
            default:
                return "";
        }
    }

    private static int Pass(IDataView view)
    {
        using var cursor = view.GetRowCursor(view.Schema);
        var features = cursor.GetGetter<VBuffer<float>>(view.Schema[0]);
        var value = default(VBuffer<float>);
        var rows = 0;
        while (cursor.MoveNext())
        {
            features(ref value);
            rows++;
        }

        return rows;
    }

    // Each family once on a small table, so the first measured fit is not the JIT's.
    internal static void Warm(CancellationToken ct)
    {
        var path = Path.Combine(Path.GetTempPath(), $"flotilla-profile-warm-{Environment.ProcessId}.csv");
        try
        {
            ScalingBench.Generate(path, 2000, seed: 7);
            var table = TableReader.Read(path, new CsvOptions("label"), ct);
            foreach (var algorithm in AlgorithmCatalog.All)
            {
                algorithm.Fit(table, HyperParameters.Empty, 1, ct);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static (T Result, double Seconds) Cpu<T>(Func<T> action)
    {
        using var process = Process.GetCurrentProcess();
        var before = process.TotalProcessorTime;
        var result = action();
        process.Refresh();
        return (result, (process.TotalProcessorTime - before).TotalSeconds);
    }

    /// <summary>A view that counts the cursors opened on it: how many passes a trainer makes.</summary>
    private sealed class CountingView(IDataView inner) : IDataView
    {
        public int Cursors { get; set; }

        public bool CanShuffle => inner.CanShuffle;

        public DataViewSchema Schema => inner.Schema;

        public long? GetRowCount() => inner.GetRowCount();

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        {
            Cursors++;
            return inner.GetRowCursor(columnsNeeded, rand);
        }

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        {
            Cursors++;
            return inner.GetRowCursorSet(columnsNeeded, n, rand);
        }
    }
}
