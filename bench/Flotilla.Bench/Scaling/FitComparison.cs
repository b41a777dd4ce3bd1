using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;
using static Flotilla.Bench.BenchContext;

namespace Flotilla.Bench.Scaling;

/// <summary>
/// `scaling --fits`: issue 13's bar that each family's fit at its defaults takes at most 1/3 of scikit-learn's
/// (xgboost's for XGBoost) at 1M rows, one thread each side. The scaling table of --rows (1,000,000 by default) is
/// split (0.2, stratified, seed 42) and written to train/test CSVs in a temporary folder; then, family by family,
/// Flotilla's fit at its defaults on the train part (the same call a refit makes: encoding included) and
/// <c>fits_sklearn.py</c> fitting the peer at its library's defaults behind peer_optuna.py's preprocessing, one
/// child process per family so one that passes --timeout-seconds is killed and shown as "&gt; N s" while the others
/// still run. Both sides are pinned to one CPU (Flotilla to 0, the peer to 1, one after the other) unless --no-pin,
/// whose CPU/wall then shows whether a side used more than one thread.
/// Usage: scaling --fits [--rows 1000000] [--families LogisticRegression,NaiveBayes] [--timeout-seconds 3600] [--no-pin] [--python /usr/bin/python3]
/// </summary>
internal static class FitComparison
{
    private const double Bar = 1.0 / 3;

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var rows = int.Parse(Option(args, "--rows") ?? "1000000", CultureInfo.InvariantCulture);
        var families = (Option(args, "--families")?.Split(',') ?? [.. AlgorithmCatalog.Names]).Select(AlgorithmCatalog.Get).ToArray();
        var timeout = int.Parse(Option(args, "--timeout-seconds") ?? "3600", CultureInfo.InvariantCulture);
        var python = Option(args, "--python") ?? "/usr/bin/python3";
        var pin = !args.Contains("--no-pin");
        var script = Path.Combine(RepositoryRoot(), "bench", "Flotilla.Bench", "Scaling", "fits_sklearn.py");
        var peerCpu = Environment.ProcessorCount > 1 ? 1 : 0;
        var folder = Directory.CreateTempSubdirectory("flotilla-fits-");
        try
        {
            var all = Path.Combine(folder.FullName, "all.csv");
            ScalingBench.Generate(all, rows, seed: 42);
            var (split, held) = TableReader.Read(all, new CsvOptions("label"), ct).Split(0.2, stratify: true, seed: 42);
            File.Delete(all);
            var trainPath = Path.Combine(folder.FullName, "train.csv");
            var testPath = Path.Combine(folder.FullName, "test.csv");
            split.WriteCsv(trainPath);
            held.WriteCsv(testPath);
            // Both sides fit the files: read back, the training table's hash (in the model's metadata) is its file's, as
            // for a refit reading the Preprocess step's train.csv. A split's own hash writes it as CSV once more, a second
            // of formatting at 800,000 rows that the first family's fit would pay.
            var train = TableReader.Read(trainPath, new CsvOptions("label"), ct);
            var test = TableReader.Read(testPath, new CsvOptions("label"), ct);
            if (pin)
            {
                PinProcess(0);
            }

            FamilyProfile.Warm(ct);
            Console.WriteLine($"# fits at defaults, Flotilla vs scikit-learn/xgboost — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average {LoadAverage()}");
            Console.WriteLine(Invariant($"{rows:N0} rows of the scaling table: train {train.RowCount:N0}, test {test.RowCount:N0}; {(pin ? $"Flotilla pinned to CPU 0, the peer to CPU {peerCpu}" : "not pinned")}, one after the other; peer timeout {timeout} s"));
            Console.WriteLine();
            Console.WriteLine("| family | Flotilla fit s (CPU) | peer | peer fit s (CPU) | of which preprocessing s | ratio (wall) | Flotilla test AUC | peer test AUC | ≤ 1/3 |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
            JsonElement? seen = null;
            foreach (var algorithm in families)
            {
                var (fit, auc) = FitOurs(algorithm, train, test, ct);
                var peer = await PeerAsync(python, script, trainPath, testPath, algorithm.Name, pin ? peerCpu : null, timeout, ct);
                var ours = Invariant($"{fit.Wall:F2} ({fit.Cpu:F2})");
                if (peer is not { } p)
                {
                    var bound = fit.Wall / timeout;
                    Console.WriteLine(Invariant($"| {algorithm.Name} | {ours} | | > {timeout} s | | < {bound:F3} | {auc:F4} | | {(bound <= Bar ? "yes" : "unknown")} |"));
                    continue;
                }

                seen = p;
                var peerWall = p.GetProperty("fit_seconds").GetDouble();
                var ratio = fit.Wall / peerWall;
                Console.WriteLine(Invariant(
                    $"| {algorithm.Name} | {ours} | {p.GetProperty("estimator").GetString()} | {peerWall:F2} ({p.GetProperty("fit_cpu_seconds").GetDouble():F2}) | {p.GetProperty("prep_seconds").GetDouble():F2} | {ratio:F3} | {auc:F4} | {p.GetProperty("test_auc").GetDouble():F4} | {(ratio <= Bar ? "yes" : "**no**")} |"));
            }

            Console.WriteLine();
            if (seen is { } last)
            {
                // What the peer's own process saw: the library versions, its encoded width, the CPUs it could run on.
                Console.WriteLine(Invariant(
                    $"peer: scikit-learn {last.GetProperty("sklearn").GetString()}, xgboost {last.GetProperty("xgboost").GetString()}, {last.GetProperty("width").GetInt32()} encoded columns, {last.GetProperty("cpus").GetInt32()} CPU(s) allowed"));
            }

            Console.WriteLine($"load average {LoadAverage()}");
        }
        finally
        {
            folder.Delete(recursive: true);
        }

        return 0;
    }

    /// <summary>Flotilla's fit at the family's defaults, timed, and its test AUC; the model is garbage before the peer runs.</summary>
    private static ((double Wall, double Cpu) Fit, double Auc) FitOurs(IAlgorithm algorithm, Table train, Table test, CancellationToken ct)
    {
        // Garbage left by the previous family's fit and scoring would otherwise be collected inside this one.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var (model, fit) = ScalingBench.Time(() => algorithm.Fit(train, HyperParameters.Empty, 42, ct));
        return (fit, Evaluator.Evaluate(model, test).Auc);
    }

    /// <summary>
    /// Every thread of this process to <paramref name="cpu"/> (taskset -a: the GC's and the thread pool's threads as
    /// well, and the threads they start later inherit it), so Flotilla's fits get one CPU as the peer does.
    /// </summary>
    private static void PinProcess(int cpu)
    {
        var start = new ProcessStartInfo("taskset") { RedirectStandardOutput = true };
        foreach (var arg in new[] { "-a", "-p", "-c", cpu.ToString(CultureInfo.InvariantCulture), Environment.ProcessId.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }

        using var taskset = Process.Start(start) ?? throw new InvalidOperationException("Could not start taskset (util-linux).");
        taskset.StandardOutput.ReadToEnd();
        taskset.WaitForExit();
        if (taskset.ExitCode != 0)
        {
            throw new InvalidOperationException($"taskset could not pin this process to CPU {cpu} (exit {taskset.ExitCode}); run with --no-pin.");
        }
    }

    /// <summary>One family's peer fit (fits_sklearn.py's JSON), or null when it ran past <paramref name="timeout"/> seconds and was killed.</summary>
    private static async Task<JsonElement?> PeerAsync(string python, string script, string train, string test, string family, int? cpu, int timeout, CancellationToken ct)
    {
        var start = new ProcessStartInfo(cpu is null ? python : "taskset")
        {
            RedirectStandardOutput = true,
            Environment = { ["OMP_NUM_THREADS"] = "1", ["OPENBLAS_NUM_THREADS"] = "1", ["MKL_NUM_THREADS"] = "1" },
        };
        string[] arguments = cpu is { } c ? ["-c", c.ToString(CultureInfo.InvariantCulture), python] : [];
        foreach (var arg in arguments.Concat([script, "--train", train, "--test", test, "--label", "label", "--family", family]))
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {python}.");
        var output = process.StandardOutput.ReadToEndAsync(ct);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(TimeSpan.FromSeconds(timeout));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            if (ct.IsCancellationRequested)
            {
                throw;
            }

            return null;
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{script} --family {family} exited with {process.ExitCode}; install python3-sklearn, python3-xgboost and python3-pandas.");
        }

        return JsonDocument.Parse((await output).Trim().Split('\n')[^1]).RootElement.Clone();
    }
}
