using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;
using static Flotilla.Bench.BenchContext;

namespace Flotilla.Bench.Forest;

/// <summary>
/// The random forest at scale (issue 13): the issue's configuration (400 trees, max_depth 15, every feature per
/// split, min_samples_leaf 5, class_weight balanced) in 5-fold CV and one refit on a generated census-like
/// table, with its phases timed apart (encoding, binning, trees), then scikit-learn's RandomForestClassifier on
/// the same rows and the same folds, one thread each side, in the same run. Before that, CV and test AUC of the
/// forest's defaults and of that configuration on the shipped datasets, the accuracy bar of any change.
/// Usage: forest [--rows 32561] [--trees 400 (census only; 50–500)] [--datasets DIR] [--no-sklearn] [--python /usr/bin/python3]
/// </summary>
internal static class ForestBench
{
    private static readonly string[] DatasetFiles = ["breast-cancer.csv", "banknote-authentication.csv"];

    public static Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var root = RepositoryRoot();
        var datasets = Option(args, "--datasets") ?? Path.Combine(root, "..", "shared", "datasets");
        var rows = int.Parse(Option(args, "--rows") ?? "32561", CultureInfo.InvariantCulture);
        var trees = int.Parse(Option(args, "--trees") ?? "400", CultureInfo.InvariantCulture);
        var python = Option(args, "--python") ?? "/usr/bin/python3";
        var forest = AlgorithmCatalog.Get("RandomForest");
        var issue = Issue(400);
        Console.WriteLine($"# forest benchmark — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average {LoadAverage()}");
        Console.WriteLine();

        Console.WriteLine("| dataset | configuration | 5-fold CV ms (CPU) | CV AUC | test AUC |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var file in DatasetFiles)
        {
            var table = TableReader.Read(Path.Combine(datasets, file), new CsvOptions("CLASS"), ct);
            var (train, test) = table.Split(0.2, stratify: true, seed: 42);
            foreach (var (name, hp) in new[] { ("defaults", HyperParameters.Empty), ("issue's", issue) })
            {
                forest.Fit(test, hp, 1, ct);
                var folds = CrossValidation.Prepare(train, 5, 42);
                var (cv, wall, cpu) = Time(() => CrossValidation.Run(forest, hp, folds, Scorer.RocAuc, null, ct));
                var testAuc = Evaluator.Evaluate(forest.Fit(train, hp, 42, ct), test).Auc;
                Console.WriteLine(Invariant($"| {Path.GetFileNameWithoutExtension(file)} | {name} | {wall:N0} ({cpu:N0}) | {cv.Mean:F4} | {testAuc:F4} |"));
            }
        }

        Console.WriteLine();
        Census(forest, Issue(trees), rows, trees, python, root, args.Contains("--no-sklearn"), ct);
        return Task.FromResult(0);
    }

    private static HyperParameters Issue(int trees) => new(new Dictionary<string, ParameterValue>
    {
        ["n_estimators"] = trees,
        ["max_depth"] = 15,
        ["max_features"] = "all",
        ["min_samples_leaf"] = 5,
        ["class_weight"] = "balanced",
    });

    private static void Census(IAlgorithm forest, HyperParameters hp, int rows, int trees, string python, string root, bool skipPeer, CancellationToken ct)
    {
        var folder = Directory.CreateTempSubdirectory("flotilla-forest-");
        try
        {
            var csv = Path.Combine(folder.FullName, "census.csv");
            CensusTable.Write(csv, rows, seed: 42);
            var table = TableReader.Read(csv, new CsvOptions(CensusTable.Label), ct);
            var (train, test) = table.Split(0.2, stratify: true, seed: 42);
            train.WriteCsv(Path.Combine(folder.FullName, "train.csv"));
            test.WriteCsv(Path.Combine(folder.FullName, "test.csv"));
            var folds = CrossValidation.Prepare(train, 5, 42);
            File.WriteAllLines(Path.Combine(folder.FullName, "folds.txt"),
                Enumerable.Range(0, train.RowCount).Select(r => folds.FoldOf(r).ToString(CultureInfo.InvariantCulture)));
            Console.WriteLine(Invariant(
                $"## census-like: {table.RowCount} rows ({table.PositiveCount} positive), {table.Columns.Count} columns, train {train.RowCount}, test {test.RowCount}; {trees} trees, max_depth 15, max_features all, min_samples_leaf 5, balanced"));
            Console.WriteLine();

            var (_, encodeWall, encodeCpu) = Time(() => Enumerable.Range(0, folds.Folds).Select(f => folds[f].Train).ToArray());
            var (_, binWall, binCpu) = Time(() => Enumerable.Range(0, folds.Folds).Select(f => folds[f].Train.Forest).ToArray());
            var (cv, cvWall, cvCpu) = Time(() => CrossValidation.Run(forest, hp, folds, Scorer.RocAuc, null, ct));
            var (model, fitWall, fitCpu) = Time(() => forest.Fit(train, hp, 42, ct));
            var testAuc = Evaluator.Evaluate(model, test).Auc;
            Console.WriteLine("| side | fold encoding s | binning s | 5-fold CV s (CPU) | refit s (CPU) | CV AUC | test AUC |");
            Console.WriteLine("|---|---|---|---|---|---|---|");
            Console.WriteLine(Invariant(
                $"| Flotilla | {encodeWall / 1000:F2} | {binWall / 1000:F2} | {cvWall / 1000:F1} ({cvCpu / 1000:F1}) | {fitWall / 1000:F1} ({fitCpu / 1000:F1}) | {cv.Mean:F4} | {testAuc:F4} |"));
            if (skipPeer)
            {
                return;
            }

            var peer = Peer(python, root, folder.FullName, trees);
            var cvSeconds = peer.GetProperty("cv_seconds").GetDouble();
            var fitSeconds = peer.GetProperty("fit_seconds").GetDouble();
            Console.WriteLine(Invariant(
                $"| scikit-learn | | | {cvSeconds:F1} ({peer.GetProperty("cv_cpu_seconds").GetDouble():F1}) | {fitSeconds:F1} ({peer.GetProperty("fit_cpu_seconds").GetDouble():F1}) | {peer.GetProperty("cv_auc").GetDouble():F4} | {peer.GetProperty("test_auc").GetDouble():F4} |"));
            Console.WriteLine();
            var ours = (encodeWall + binWall + cvWall) / 1000;
            var oursCpu = (encodeCpu + binCpu + cvCpu) / 1000;
            var peerCpu = peer.GetProperty("cv_cpu_seconds").GetDouble();
            Console.WriteLine(Invariant(
                $"Flotilla / scikit-learn, 5-fold CV with its encoding and binning: wall {ours:F1} / {cvSeconds:F1} s = **{ours / cvSeconds:F2}×**, CPU {oursCpu:F1} / {peerCpu:F1} s = **{oursCpu / peerCpu:F2}×**; refit wall {fitWall / 1000 / fitSeconds:F2}×."));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static JsonElement Peer(string python, string root, string folder, int trees)
    {
        var script = Path.Combine(root, "bench", "Flotilla.Bench", "Forest", "forest_sklearn.py");
        var start = new ProcessStartInfo(python)
        {
            ArgumentList =
            {
                script, "--train", Path.Combine(folder, "train.csv"), "--test", Path.Combine(folder, "test.csv"),
                "--folds", Path.Combine(folder, "folds.txt"), "--label", CensusTable.Label, "--trees", trees.ToString(CultureInfo.InvariantCulture),
            },
            RedirectStandardOutput = true,
            Environment = { ["OMP_NUM_THREADS"] = "1", ["OPENBLAS_NUM_THREADS"] = "1" },
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {python}.");
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{script} exited with {process.ExitCode}; install python3-sklearn and python3-pandas.");
        }

        return JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement.Clone();
    }

    private static (T Result, double Wall, double Cpu) Time<T>(Func<T> action)
    {
        using var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var start = Stopwatch.GetTimestamp();
        var result = action();
        var wall = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        process.Refresh();
        return (result, wall, (process.TotalProcessorTime - cpu).TotalMilliseconds);
    }
}
