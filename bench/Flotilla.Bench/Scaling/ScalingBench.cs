using System.Diagnostics;
using System.Globalization;
using System.Text;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;
using static Flotilla.Bench.BenchContext;

namespace Flotilla.Bench.Scaling;

/// <summary>
/// How the data path grows with rows (issue 13): generated tables of 10k, 100k and 1M rows × 20 columns
/// (12 numeric, 7 text, 1 high-cardinality text; ~5% missing cells; a label with a signal) through the
/// CSV reader, the train/test split, the 5-fold preparation (each fold's encoding) and the forest's binning,
/// with nanoseconds per row so a step that is not linear shows; then each family's fit at its defaults on
/// the training part of tables up to --fit-rows, so where a trial's time goes is visible family by family.
/// Usage: scaling [--rows 10000,100000,1000000] [--fit-rows 100000] [--families RandomForest,LightGBM]; with --peer, Flotilla against the Python peer
/// (see <see cref="PeerComparison"/>): scaling --peer [--tables scaling:10000,census:10000,breast-cancer] [--trials 12] [--ensemble N];
/// with --pipeline, one table through the built-in pipeline with its memory per step (<see cref="PipelineMemory"/>);
/// with --profile, where one trial's time goes per family (<see cref="FamilyProfile"/>); with --auc, each family's test
/// AUC at its defaults per table (<see cref="FamilyAuc"/>); with --fits, each family's fit at its defaults against
/// scikit-learn's (xgboost's) on one CPU each (<see cref="FitComparison"/>).
/// </summary>
internal static class ScalingBench
{
    public static Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        if (args.Contains("--peer"))
        {
            return PeerComparison.RunAsync(args, ct);
        }

        if (args.Contains("--pipeline"))
        {
            return PipelineMemory.RunAsync(args, ct);
        }

        if (args.Contains("--profile"))
        {
            return FamilyProfile.RunAsync(args, ct);
        }

        if (args.Contains("--auc"))
        {
            return FamilyAuc.RunAsync(args, ct);
        }

        if (args.Contains("--fits"))
        {
            return FitComparison.RunAsync(args, ct);
        }

        var sizes = (Option(args, "--rows") ?? "10000,100000,1000000").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var fitRows = int.Parse(Option(args, "--fit-rows") ?? "100000", CultureInfo.InvariantCulture);
        var families = Option(args, "--families")?.Split(',') ?? [.. AlgorithmCatalog.Names];
        Console.WriteLine($"# scaling benchmark — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average {LoadAverage()}");
        Console.WriteLine();
        Console.WriteLine("| rows | MB | read s (CPU) | ns/row | split s | ns/row | 5-fold prepare s (CPU) | ns/row | forest binning s (CPU) | ns/row | peak working set MB |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        var fits = new List<string>();
        foreach (var rows in sizes)
        {
            var path = Path.Combine(Path.GetTempPath(), $"flotilla-scaling-{rows}-{Environment.ProcessId}.csv");
            try
            {
                Generate(path, rows, seed: 42);
                var megabytes = new FileInfo(path).Length / 1e6;
                var (table, read) = Time(() => TableReader.Read(path, new CsvOptions("label"), ct));
                var ((train, _), split) = Time(() => table.Split(0.2, stratify: true, seed: 42));
                var (folds, prepare) = Time(() =>
                {
                    var prepared = CrossValidation.Prepare(train, 5, 42);
                    _ = Enumerable.Range(0, prepared.Folds).Select(f => prepared[f].Train).ToArray();
                    return prepared;
                });
                var (_, binning) = Time(() => Enumerable.Range(0, folds.Folds).Select(f => folds[f].Train.Forest).ToArray());
                using var process = Process.GetCurrentProcess();
                process.Refresh();
                Console.WriteLine(Invariant(
                    $"| {rows:N0} | {megabytes:F0} | {read.Wall:F2} ({read.Cpu:F2}) | {read.Wall * 1e9 / rows:F0} | {split.Wall:F2} | {split.Wall * 1e9 / rows:F0} | {prepare.Wall:F2} ({prepare.Cpu:F2}) | {prepare.Wall * 1e9 / train.RowCount:F0} | {binning.Wall:F2} ({binning.Cpu:F2}) | {binning.Wall * 1e9 / train.RowCount:F0} | {process.PeakWorkingSet64 / 1e6:F0} |"));
                if (rows <= fitRows)
                {
                    foreach (var algorithm in families.Select(AlgorithmCatalog.Get))
                    {
                        var allocated = GC.GetTotalAllocatedBytes(precise: true);
                        var (model, fit) = Time(() => algorithm.Fit(train, HyperParameters.Empty, 42, ct));
                        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
                        fits.Add(Invariant($"| {rows:N0} | {algorithm.Name} | {fit.Wall:F2} ({fit.Cpu:F2}) | {fit.Cpu * 1e6 / train.RowCount:F1} | {allocated / 1e6:F0} | {model.ApproximateBytes / 1e6:F1} |"));
                    }
                }
            }
            finally
            {
                File.Delete(path);
            }
        }

        Console.WriteLine();
        Console.WriteLine("Each family's fit at its defaults on the training part (one trial's refit; a 5-fold CV costs about 4× this):");
        Console.WriteLine();
        Console.WriteLine("| rows | family | fit s (CPU) | CPU µs/row | allocated MB | model MB |");
        Console.WriteLine("|---|---|---|---|---|---|");
        fits.ForEach(Console.WriteLine);
        return Task.FromResult(0);
    }

    /// <summary>
    /// 12 numeric, 7 text (4–12 levels), one text column with ~rows/20 levels; <paramref name="missing"/> of the numeric
    /// and the 7 text cells missing; label from a logistic score. With <paramref name="informative"/>, the four numbers
    /// the label depends on go missing only when they are high (twice the rate above 0, none below): missing says
    /// something, as when a large income goes unreported, so the cell cannot be replaced by the mean without loss.
    /// </summary>
    internal static void Generate(string path, int rows, int seed, double missing = 0.05, bool informative = false)
    {
        var random = new Random(seed);
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 16);
        writer.WriteLine(string.Join(',', Enumerable.Range(0, 12).Select(i => $"num{i}").Concat(Enumerable.Range(0, 7).Select(i => $"cat{i}"))) + ",id group,label");
        var line = new StringBuilder();
        var groups = Math.Max(rows / 20, 10);
        for (var r = 0; r < rows; r++)
        {
            line.Clear();
            double score = -1;
            for (var c = 0; c < 12; c++)
            {
                var value = random.NextDouble() * 2 - 1;
                score += c < 4 ? value * (c + 1) * 0.6 : 0;
                var rate = informative && c < 4 ? (value > 0 ? 2 * missing : 0) : missing;
                line.Append(random.NextDouble() < rate ? "" : value.ToString("F5", CultureInfo.InvariantCulture)).Append(',');
            }

            for (var c = 0; c < 7; c++)
            {
                var level = random.Next(4 + c);
                score += c < 3 && level == 1 ? 1.2 : 0;
                line.Append(random.NextDouble() < missing ? "NA" : $"level {c}-{level}").Append(',');
            }

            line.Append(CultureInfo.InvariantCulture, $"g{random.Next(groups)},");
            line.Append(random.NextDouble() < 1 / (1 + Math.Exp(-score)) ? "yes" : "no");
            writer.WriteLine(line);
        }
    }

    /// <summary>The wall and this process's CPU seconds of <paramref name="action"/>.</summary>
    internal static (T Result, (double Wall, double Cpu) Seconds) Time<T>(Func<T> action)
    {
        using var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var start = Stopwatch.GetTimestamp();
        var result = action();
        var wall = Stopwatch.GetElapsedTime(start).TotalSeconds;
        process.Refresh();
        return (result, (wall, (process.TotalProcessorTime - cpu).TotalSeconds));
    }
}
