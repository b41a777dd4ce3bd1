using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;
using Flotilla.Learning.Ensembles;
using Flotilla.Learning.Evaluation;
using Flotilla.Tuning;
using static Flotilla.Bench.BenchContext;

namespace Flotilla.Bench.Scaling;

/// <summary>
/// `scaling --peer`: Flotilla's tuning at the built-in pipeline's defaults (TPE, median pruning, 5-fold roc_auc,
/// MaxTuningParallelJobs 6 capped to the cores) against ../shared/bench/peer_optuna.py on the same train/test split
/// (Flotilla's, written to CSV), one after the other: tuning seconds, test AUC of the refit winner (and of the
/// ensemble with --ensemble N), peak memory. Tables: scaling:ROWS (the 20-column generated table), census:ROWS,
/// or a shared dataset's name. The peer runs under /usr/bin/time -v for its peak resident set.
/// </summary>
internal static class PeerComparison
{
    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var tables = (Option(args, "--tables") ?? "scaling:10000,census:10000,breast-cancer,banknote-authentication").Split(',');
        var trials = int.Parse(Option(args, "--trials") ?? "12", CultureInfo.InvariantCulture);
        var ensembleSize = int.Parse(Option(args, "--ensemble") ?? "0", CultureInfo.InvariantCulture);
        var python = Option(args, "--python") ?? "/usr/bin/python3";
        var peer = Path.GetFullPath(Path.Combine(RepositoryRoot(), "..", "shared", "bench", "peer_optuna.py"));
        Console.WriteLine($"# Flotilla vs peer_optuna.py — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average {LoadAverage()}, {trials} trials, same split");
        Console.WriteLine();
        Console.WriteLine("| table | train rows | Flotilla tune s | best | test AUC | ensemble test AUC | peer tune s | peer best | peer test AUC | time ratio (Flotilla / peer) | Δ AUC | Flotilla peak MB | peer peak MB | load |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        var spent = new List<string>();
        // A server tunes warm after its first run: the first table's time should not be the JIT's.
        FamilyProfile.Warm(ct);
        foreach (var spec in tables)
        {
            var folder = Path.Combine(Path.GetTempPath(), $"flotilla-peer-{spec.Replace(':', '-')}-{Environment.ProcessId}");
            Directory.CreateDirectory(folder);
            try
            {
                var (table, label) = BenchTables.Load(spec, Path.Combine(folder, "all.csv"), ct);
                var (train, test) = table.Split(0.2, stratify: true, seed: 42);
                var trainPath = Path.Combine(folder, "train.csv");
                var testPath = Path.Combine(folder, "test.csv");
                train.WriteCsv(trainPath);
                test.WriteCsv(testPath);

                var started = Stopwatch.GetTimestamp();
                var result = await new Tuner().RunAsync(train, new TuningOptions { MaxTrials = trials, KeepOutOfFold = ensembleSize > 1 ? 50 : 1 }, cancellationToken: ct);
                var tuneSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                var best = AlgorithmCatalog.Get(result.Best.Algorithm).Fit(train, result.Best.Parameters, 42, ct);
                var auc = TestAuc(best, test);
                var ensembleAuc = "";
                if (ensembleSize > 1)
                {
                    var labels = Enumerable.Range(0, train.RowCount).Select(train.Label).ToArray();
                    var selection = EnsembleSelection.Select(labels, [.. result.OutOfFold.Select(k => k.Probabilities)], Scorer.RocAuc, ensembleSize, ct);
                    var members = selection.Members.Select(i => (
                        i == 0 ? best : AlgorithmCatalog.Get(result.OutOfFold[i].Trial.Algorithm).Fit(train, result.OutOfFold[i].Trial.Parameters, 42, ct),
                        selection.Weight(i), (int?)result.OutOfFold[i].Trial.Number, result.OutOfFold[i].Trial.Mean)).ToArray();
                    ensembleAuc = Invariant($"{TestAuc(TrainedModel.Combine(members), test):F4} ({members.Length})");
                }

                using var self = Process.GetCurrentProcess();
                self.Refresh();
                var (peerJson, peerPeakMb) = await RunPeerAsync(python, peer, trainPath, testPath, label, trials, ct);
                var peerTune = peerJson.GetProperty("tune_s").GetDouble();
                var peerAuc = peerJson.GetProperty("test_auc").GetDouble();
                Console.WriteLine(Invariant(
                    $"| {spec} | {train.RowCount:N0} | {tuneSeconds:F1} | {result.Best.Algorithm} | {auc:F4} | {ensembleAuc} | {peerTune:F1} | {peerJson.GetProperty("best_algorithm").GetString()} | {peerAuc:F4} | {tuneSeconds / peerTune:F2} | {auc - peerAuc:+0.0000;-0.0000;0} | {self.PeakWorkingSet64 / 1e6:F0} | {peerPeakMb:F0} | {LoadAverage()} |"));
                spent.Add(Invariant($"{spec}: ") + string.Join(", ", result.Trials.OrderByDescending(t => t.Seconds)
                    .Select(t => Invariant($"{t.Algorithm} {t.Seconds:F1} s ({t.Status}, {t.FoldScores.Count} folds)"))));
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }

        // Where Flotilla's tuning time went: the trials, slowest first (they overlap, up to the cores at once).
        Console.WriteLine();
        spent.ForEach(line => Console.WriteLine($"- {line}"));
        return 0;
    }

    private static double TestAuc(TrainedModel model, Table test)
    {
        var labels = Enumerable.Range(0, test.RowCount).Select(r => test.LabelMapping[test.Label(r)] == model.Schema.LabelMapping.Positive).ToArray();
        return Metrics.RocAuc(labels, model.PredictProbabilities(test));
    }

    private static async Task<(JsonElement Result, double PeakMb)> RunPeerAsync(
        string python, string peer, string train, string test, string label, int trials, CancellationToken ct)
    {
        var start = new ProcessStartInfo("/usr/bin/time")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "-v", python, peer, "--train", train, "--test", test, "--target", label, "--trials", trials.ToString(CultureInfo.InvariantCulture), "--parallel", "2" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        var lastLine = (await stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.StartsWith('{'))
            ?? throw new InvalidOperationException($"peer_optuna.py printed no result (exit {process.ExitCode}): {(await stderr)[^Math.Min(2000, (await stderr).Length)..]}");
        var peak = (await stderr).Split('\n').FirstOrDefault(l => l.Contains("Maximum resident set size", StringComparison.Ordinal));
        var kb = peak is null ? 0 : double.Parse(peak.Split(':')[1].Trim(), CultureInfo.InvariantCulture);
        return (JsonDocument.Parse(lastLine).RootElement.Clone(), kb / 1024);
    }
}
