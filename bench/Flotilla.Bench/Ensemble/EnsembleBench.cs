using System.Diagnostics;
using System.Globalization;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;
using Flotilla.Learning.Ensembles;
using Flotilla.Learning.Evaluation;
using Flotilla.Tuning;
using static Flotilla.Bench.BenchContext;

namespace Flotilla.Bench.Ensemble;

/// <summary>
/// The "ensemble" suite: what EnsembleSize buys. Per dataset and seed, one tuning run with the built-in pipeline's
/// defaults (TPE, median pruning, 5-fold roc_auc) keeps its best trials' out-of-fold predictions; the best trial
/// refitted alone is compared with the ensemble chosen by selection for each size, refitted on the same train
/// split: test AUC, members, single-row predict p99 (LoadedModel.Predict, warm). Datasets: the shared ones by name,
/// <c>census:ROWS</c> (the census-like table) and <c>scaling:ROWS</c> (the scaling suite's 20-column table).
/// Usage: ensemble [--datasets breast-cancer,banknote-authentication,census:5000,scaling:10000] [--seeds 42,7]
/// [--trials 12] [--sizes 10,20,50] [--calls 20000]
/// </summary>
internal static class EnsembleBench
{
    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var datasets = (Option(args, "--datasets") ?? "breast-cancer,banknote-authentication,census:5000,scaling:10000").Split(',');
        var seeds = (Option(args, "--seeds") ?? "42,7").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var trials = int.Parse(Option(args, "--trials") ?? "12", CultureInfo.InvariantCulture);
        var sizes = (Option(args, "--sizes") ?? "10,20,50").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var calls = int.Parse(Option(args, "--calls") ?? "20000", CultureInfo.InvariantCulture);
        // Each member's own latency too (stderr), to see which one an ensemble's p99 comes from.
        var eachMember = args.Contains("--members");
        Console.WriteLine($"# ensemble benchmark — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average {LoadAverage()}, {trials} trials");
        Console.WriteLine();
        Console.WriteLine("| dataset | seed | tune s | best trial | test AUC alone | p99 µs alone | size | members | selection s | refit s | test AUC ensemble | Δ AUC | p99 µs ensemble |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        var deltas = sizes.ToDictionary(s => s, _ => new List<double>());
        var p99Ratios = sizes.ToDictionary(s => s, _ => new List<double>());
        foreach (var dataset in datasets)
        {
            var (table, label) = Load(dataset, ct);
            var (train, test) = table.Split(0.2, stratify: true, seed: 42);
            foreach (var seed in seeds)
            {
                var options = new TuningOptions { MaxTrials = trials, Seed = seed, KeepOutOfFold = 50 };
                var started = Stopwatch.GetTimestamp();
                var result = await new Tuner().RunAsync(train, options, cancellationToken: ct);
                var tuneSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                var refits = new Dictionary<int, TrainedModel>();
                TrainedModel Refit(TrialRecord t) => refits.TryGetValue(t.Number, out var m) ? m
                    : refits[t.Number] = AlgorithmCatalog.Get(t.Algorithm).Fit(train, t.Parameters, seed, ct);
                var alone = Refit(result.Best).ToLoaded();
                var aloneAuc = TestAuc(alone, test);
                var aloneP99 = P99(alone, test, calls);
                var labels = Enumerable.Range(0, train.RowCount).Select(train.Label).ToArray();
                foreach (var size in sizes)
                {
                    var selectStarted = Stopwatch.GetTimestamp();
                    var selection = EnsembleSelection.Select(labels, [.. result.OutOfFold.Select(k => k.Probabilities)], Scorer.RocAuc, size, ct);
                    var selectSeconds = Stopwatch.GetElapsedTime(selectStarted).TotalSeconds;
                    var refitStarted = Stopwatch.GetTimestamp();
                    var members = selection.Members.Select(i => (Refit(result.OutOfFold[i].Trial), selection.Weight(i), (int?)result.OutOfFold[i].Trial.Number, result.OutOfFold[i].Trial.Mean)).ToArray();
                    var ensemble = TrainedModel.Combine(members).ToLoaded();
                    var refitSeconds = Stopwatch.GetElapsedTime(refitStarted).TotalSeconds;
                    var auc = TestAuc(ensemble, test);
                    var p99 = members.Length > 1 ? P99(ensemble, test, calls) : aloneP99;
                    if (eachMember && members.Length > 1)
                    {
                        foreach (var member in members)
                        {
                            P99(member.Item1.ToLoaded(), test, calls);
                            if (member.Item1.Predictor is TreeEnsemblePredictor trees)
                            {
                                Console.Error.WriteLine(Invariant($"    {trees.TreeCount} trees, {trees.NodeCount} nodes, {trees.CategoricalNodeCount} categorical"));
                            }
                        }
                    }
                    deltas[size].Add(auc - aloneAuc);
                    p99Ratios[size].Add(p99 / aloneP99);
                    var names = string.Join(" + ", members.Select(m => Invariant($"{m.Item1.Metadata.Algorithm} ×{m.Item2:0.##}")));
                    Console.WriteLine(Invariant(
                        $"| {dataset} | {seed} | {tuneSeconds:F1} | #{result.Best.Number} {result.Best.Algorithm} | {aloneAuc:F4} | {aloneP99:F1} | {size} | {members.Length}: {names} | {selectSeconds:F2} | {refitSeconds:F2} | {auc:F4} | {auc - aloneAuc:+0.0000;-0.0000;0} | {p99:F1} |"));
                }
            }
        }

        Console.WriteLine();
        Console.WriteLine("| size | mean Δ test AUC | runs better / same / worse | median p99 ratio | max p99 ratio |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var size in sizes)
        {
            var d = deltas[size];
            var r = p99Ratios[size].Order().ToArray();
            Console.WriteLine(Invariant(
                $"| {size} | {d.Average():+0.0000;-0.0000;0} | {d.Count(x => x > 1e-9)} / {d.Count(x => Math.Abs(x) <= 1e-9)} / {d.Count(x => x < -1e-9)} | {r[r.Length / 2]:F2} | {r[^1]:F2} |"));
        }

        Console.WriteLine($"load average after: {LoadAverage()}");
        return 0;
    }

    private static (Table Table, string Label) Load(string dataset, CancellationToken ct)
    {
        var path = Path.Combine(Path.GetTempPath(), $"flotilla-ensemble-{dataset.Replace(':', '-')}-{Environment.ProcessId}.csv");
        try
        {
            return BenchTables.Load(dataset, path, ct);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static double TestAuc(LoadedModel model, Table test)
    {
        var labels = Enumerable.Range(0, test.RowCount).Select(r => test.LabelMapping[test.Label(r)] == model.Schema.LabelMapping.Positive).ToArray();
        return Metrics.RocAuc(labels, model.PredictProbabilities(test));
    }

    /// <summary>Warm single-row predict p99 in µs over the test rows, encoded as the JSON door encodes them.</summary>
    private static double P99(LoadedModel model, Table test, int calls)
    {
        var features = model.Schema.Features;
        var columns = features.Select(f => test.Columns.Select((c, i) => (c, i)).First(x => x.c.Name == f.Name).i).ToArray();
        var rows = new float[Math.Min(test.RowCount, 1000)][];
        for (var r = 0; r < rows.Length; r++)
        {
            rows[r] = new float[features.Count];
            for (var f = 0; f < features.Count; f++)
            {
                var c = columns[f];
                rows[r][f] = test.IsMissing(c, r) ? float.NaN
                    : features[f].Kind == ColumnKind.Numeric ? (float)test.Number(c, r)
                    : model.Schema.CategoryIndex(f, test.Columns[c].Kind == ColumnKind.Numeric ? test.Number(c, r).ToString("R", CultureInfo.InvariantCulture) : test.Category(c, r)!);
            }
        }

        var warm = Stopwatch.GetTimestamp();
        for (var i = 0; Stopwatch.GetElapsedTime(warm).TotalSeconds < 0.5; i++)
        {
            model.Predict(rows[i % rows.Length]);
        }

        var times = new double[calls];
        for (var i = 0; i < calls; i++)
        {
            var start = Stopwatch.GetTimestamp();
            model.Predict(rows[i % rows.Length]);
            times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        Array.Sort(times);
        // The p50 beside it: on a loaded machine a p99 of a few µs is set by preemption, not by the model.
        Console.Error.WriteLine(Invariant($"  predict p50 {times[calls / 2]:F1} µs, p99 {times[(int)(calls * 0.99)]:F1} µs ({model.Metadata.Algorithm}{(model.Metadata.Members is { } m ? $" of {m.Count}" : "")})"));
        return times[(int)(calls * 0.99)];
    }
}
