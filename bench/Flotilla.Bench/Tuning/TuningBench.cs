using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;
using Flotilla.Tuning;
using static Flotilla.Bench.BenchContext;

namespace Flotilla.Bench.Tuning;

/// <summary>
/// The "tuning" suite: the reference's defaults (60 trials over six families, 5-fold CV, roc_auc, 6 trials at once
/// capped to the cores) on the shared datasets, per seed and per variant (Random, TPE, TPE with pruning): tuning
/// wall time, best CV AUC, test AUC of the refit best, trials pruned, time per family; then TPE against Random as
/// best-so-far by trial number; and the peak memory of the process. See bench/README.md ("Tuning").
/// </summary>
internal static class TuningBench
{
    private static readonly Dictionary<string, (TuningStrategy Strategy, PruningMode Pruning)> Variants = new(StringComparer.OrdinalIgnoreCase)
    {
        ["random"] = (TuningStrategy.Random, PruningMode.None),
        ["tpe"] = (TuningStrategy.Tpe, PruningMode.None),
        ["tpe-median"] = (TuningStrategy.Tpe, PruningMode.Median),
        ["tpe-sh"] = (TuningStrategy.Tpe, PruningMode.SuccessiveHalving),
        ["random-median"] = (TuningStrategy.Random, PruningMode.Median),
    };

    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var settings = Settings.Parse(args);
        if (settings is null)
        {
            Console.Error.WriteLine(
                "usage: tuning [--datasets breast-cancer,banknote-authentication] [--seeds 42,7,1234] [--variants random,tpe,tpe-median]\n" +
                "              [--curve-seeds 42,7,1234,5,99 | none] [--trials 60] [--parallel 6] [--folds 5] [--scorer roc_auc] [--json FILE]\n" +
                $"variants: {string.Join(", ", Variants.Keys)}");
            return 2;
        }

        var folder = Path.Combine(RepositoryRoot(), "..", "shared", "datasets");
        var runs = new List<RunReport>();
        var curves = new List<CurveReport>();
        Console.WriteLine($"tuning bench: {Environment.ProcessorCount} cores, trials {settings.Trials}, parallel {settings.Parallel} (capped to cores), {settings.Folds}-fold {settings.Scorer}");
        foreach (var dataset in settings.Datasets)
        {
            var table = TableReader.Read(Path.Combine(folder, dataset + ".csv"), new CsvOptions("CLASS"), cancellationToken);
            var (train, test) = table.Split(0.2, stratify: true, seed: 42);
            await WarmUpAsync(train, settings, cancellationToken);

            foreach (var seed in settings.Seeds)
            {
                foreach (var variant in settings.Variants)
                {
                    runs.Add(await RunOnceAsync(dataset, train, test, seed, variant, settings, cancellationToken));
                }
            }

            if (settings.CurveSeeds.Count > 0)
            {
                curves.Add(await CurveAsync(dataset, train, test, runs, settings, cancellationToken));
            }
        }

        var peak = PeakMegabytes();
        Console.WriteLine($"peak memory (VmHWM) of the whole bench process: {peak:0} MB");
        if (settings.Json is { } json)
        {
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(new { cores = Environment.ProcessorCount, settings, runs, curves, peakMegabytes = peak }, JsonOptions), cancellationToken);
        }

        return 0;
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>
    /// An untimed 30-trial run (the default strategy, the timed runs' folds, another seed), and the folds prepared for
    /// every seed, so the first timed run of a process does not pay for the JIT's tiering up or for encoding its folds
    /// (as the baseline's imports are not timed). A 2-fold trial per family left that to the first timed run: on
    /// banknote the same 6 trials took 2.2 s in the first variant against 1.0 s in the second, and one 5-fold trial
    /// per family still left the first breast-cancer run about 1.5 s slow.
    /// </summary>
    private static async Task WarmUpAsync(Table train, Settings settings, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        var options = new TuningOptions
        {
            MaxTrials = 30,
            MaxParallelTrials = settings.Parallel,
            Folds = settings.Folds,
            Scorer = settings.Scorer,
            Seed = settings.Seeds[0] + 1,
        };
        await new Tuner().RunAsync(train, options, cancellationToken: cancellationToken);
        foreach (var seed in settings.Seeds)
        {
            CrossValidation.Prepare(train, settings.Folds, seed);
        }

        Console.WriteLine($"warm-up (30 {settings.Folds}-fold trials, folds prepared per seed, untimed): {sw.Elapsed.TotalSeconds:0.0} s");
    }

    private static async Task<RunReport> RunOnceAsync(
        string dataset, Table train, Table test, int seed, string variant, Settings settings, CancellationToken cancellationToken)
    {
        var (strategy, pruning) = Variants[variant];
        var options = new TuningOptions
        {
            MaxTrials = settings.Trials,
            MaxParallelTrials = settings.Parallel,
            Folds = settings.Folds,
            Scorer = settings.Scorer,
            Seed = seed,
            Strategy = strategy,
            Pruning = pruning,
        };
        var sw = Stopwatch.StartNew();
        var result = await new Tuner().RunAsync(train, options, cancellationToken: cancellationToken);
        var tuneSeconds = sw.Elapsed.TotalSeconds;

        sw.Restart();
        var testAuc = TestAuc(result.Best, train, test, seed, cancellationToken);
        var refitSeconds = sw.Elapsed.TotalSeconds;

        var families = result.Trials
            .GroupBy(t => t.Algorithm)
            .OrderByDescending(g => g.Sum(t => t.Seconds))
            .Select(g =>
            {
                // Each family's own best trial, refit and tested too: shows whether the CV winner is also the best on the test split.
                var best = g.Where(t => t.Status == TrialStatus.Complete).OrderByDescending(t => t.Mean).ThenBy(t => t.Number).FirstOrDefault();
                return new FamilyReport(g.Key, g.Count(), g.Count(t => t.Status == TrialStatus.Pruned), g.Sum(t => t.Seconds), Median(g.Select(t => t.Seconds)),
                    best?.Mean ?? double.NaN, best is null ? double.NaN : TestAuc(best, train, test, seed, cancellationToken));
            })
            .ToList();
        var report = new RunReport(dataset, seed, variant, tuneSeconds, refitSeconds, result.Best.Mean!.Value, testAuc, result.Best.Algorithm,
            result.Best.Parameters.ToString(), result.Best.Number, result.Pruned, result.Failed, result.EffectiveParallelism, result.Trials.Sum(t => t.Seconds), families,
            [.. result.Trials.Select(t => t.Status == TrialStatus.Complete ? t.Mean : null)],
            [.. result.Trials.Select(t => new TrialReport(t.Number, t.Algorithm, t.Parameters.ToString(), t.Status.ToString(), t.FoldScores.Count, t.Mean, t.Seconds))]);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{dataset,-24} seed {seed,5} {variant,-11} tune {tuneSeconds,6:0.00} s  trials {result.Trials.Count,2}  best cv {report.BestCv:0.0000} ({report.BestAlgorithm}#{report.BestTrial})  test auc {testAuc:0.0000}  pruned {report.Pruned,2}  failed {report.Failed}  parallel {report.Parallelism}  trial-seconds {report.TrialSeconds:0.0}"));
        Console.WriteLine($"    best: {report.BestAlgorithm} {report.BestParameters}");
        foreach (var f in families)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"    {f.Algorithm,-18} {f.Trials,2} trials ({f.Pruned,2} pruned)  {f.Seconds,6:0.0} trial-s  median {f.MedianSeconds,5:0.00} s  family best cv {f.BestCv:0.0000} test {f.BestTest:0.0000}"));
        }
        return report;
    }

    /// <summary>Random and TPE (no pruning) over the curve seeds: best CV so far by trial number, and the trials each needs to reach Random's final best.</summary>
    private static async Task<CurveReport> CurveAsync(
        string dataset, Table train, Table test, List<RunReport> runs, Settings settings, CancellationToken cancellationToken)
    {
        var perSeed = new List<(int Seed, double[] Random, double[] Tpe)>();
        foreach (var seed in settings.CurveSeeds)
        {
            async Task<double[]> Curve(string variant)
            {
                var run = runs.FirstOrDefault(r => r.Dataset == dataset && r.Seed == seed && r.Variant == variant)
                    ?? await RunOnceAsync(dataset, train, test, seed, variant, settings, cancellationToken);
                // A run that reached a perfect score stopped early: its best stays the same for the trials it did not run.
                var best = double.NegativeInfinity;
                return [.. Enumerable.Range(0, settings.Trials).Select(i => best = Math.Max(best, i < run.CompleteMeans.Count ? run.CompleteMeans[i] ?? double.NegativeInfinity : best))];
            }

            perSeed.Add((seed, await Curve("random"), await Curve("tpe")));
        }

        static int Reach(double[] curve, double target) => Array.FindIndex(curve, v => v >= target - 1e-12) is var i and >= 0 ? i + 1 : curve.Length + 1;

        var reach = perSeed.Select(s => (s.Seed, Random: Reach(s.Random, s.Random[^1]), Tpe: Reach(s.Tpe, s.Random[^1]))).ToList();
        var checkpoints = new[] { 5, 10, 15, 20, 30, 40, 50, 60 }.Where(c => c <= settings.Trials).ToArray();
        var table = checkpoints.Select(c => new CurvePoint(c, perSeed.Average(s => s.Random[c - 1]), perSeed.Average(s => s.Tpe[c - 1]))).ToList();
        Console.WriteLine($"{dataset}: best CV so far, mean over seeds {string.Join(",", settings.CurveSeeds)}");
        Console.WriteLine("    trial   random    tpe");
        foreach (var p in table)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    {p.Trial,5}   {p.Random:0.0000}   {p.Tpe:0.0000}"));
        }

        foreach (var (seed, random, tpe) in reach)
        {
            Console.WriteLine($"    seed {seed}: Random reaches its final best at trial {random}; TPE reaches it at trial {(tpe > settings.Trials ? $">{settings.Trials}" : tpe)}");
        }

        var meanTpe = reach.Average(r => (double)r.Tpe);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"    mean trials to Random's final best: TPE {meanTpe:0.0} vs Random {reach.Average(r => (double)r.Random):0.0} (TPE / all {settings.Trials} trials = {meanTpe / settings.Trials:0.00})"));
        return new CurveReport(dataset, table, [.. reach.Select(r => new ReachReport(r.Seed, r.Random, r.Tpe))]);
    }

    private static double TestAuc(TrialRecord trial, Table train, Table test, int seed, CancellationToken cancellationToken)
    {
        var model = AlgorithmCatalog.Get(trial.Algorithm).Fit(train, trial.Parameters, seed, cancellationToken);
        var labels = Enumerable.Range(0, test.RowCount).Select(test.Label).ToArray();
        return Scorer.RocAuc.Compute(labels, model.PredictProbabilities(test));
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : 0.5 * (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]);
    }

    /// <summary>Peak resident memory of this process (Linux VmHWM), in MB.</summary>
    private static double PeakMegabytes()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null
            ? Process.GetCurrentProcess().PeakWorkingSet64 / 1048576.0
            : double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }

    private sealed record Settings(
        IReadOnlyList<string> Datasets, IReadOnlyList<int> Seeds, IReadOnlyList<string> Variants, IReadOnlyList<int> CurveSeeds,
        int Trials, int Parallel, int Folds, string Scorer, string? Json)
    {
        public static Settings? Parse(string[] args)
        {
            var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            for (var i = 0; i < args.Length; i += 2)
            {
                if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                {
                    return null;
                }

                values[args[i][2..]] = args[i + 1];
            }

            string Get(string key, string fallback) => values.GetValueOrDefault(key, fallback);
            static List<string> List(string text) => [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
            var variants = List(Get("variants", "random,tpe,tpe-median"));
            if (variants.Any(v => !TuningBench.Variants.ContainsKey(v)))
            {
                return null;
            }

            var curve = Get("curve-seeds", "42,7,1234,5,99");
            return new Settings(
                List(Get("datasets", "breast-cancer,banknote-authentication")),
                [.. List(Get("seeds", "42,7,1234")).Select(int.Parse)],
                variants,
                curve == "none" ? [] : [.. List(curve).Select(int.Parse)],
                int.Parse(Get("trials", "60"), CultureInfo.InvariantCulture),
                int.Parse(Get("parallel", "6"), CultureInfo.InvariantCulture),
                int.Parse(Get("folds", "5"), CultureInfo.InvariantCulture),
                Get("scorer", "roc_auc"),
                values.GetValueOrDefault("json"));
        }
    }

    private sealed record FamilyReport(string Algorithm, int Trials, int Pruned, double Seconds, double MedianSeconds, double BestCv, double BestTest);

    private sealed record RunReport(
        string Dataset, int Seed, string Variant, double TuneSeconds, double RefitSeconds, double BestCv, double TestAuc, string BestAlgorithm,
        string BestParameters, int BestTrial, int Pruned, int Failed, int Parallelism, double TrialSeconds, IReadOnlyList<FamilyReport> Families, IReadOnlyList<double?> CompleteMeans,
        IReadOnlyList<TrialReport> Trials);

    /// <summary>One trial as it ended: to see which trials were pruned, after how many folds, and what they cost.</summary>
    private sealed record TrialReport(int Number, string Algorithm, string Parameters, string Status, int Folds, double? Mean, double Seconds);

    private sealed record CurvePoint(int Trial, double Random, double Tpe);

    private sealed record ReachReport(int Seed, int RandomTrials, int TpeTrials);

    private sealed record CurveReport(string Dataset, IReadOnlyList<CurvePoint> BestSoFar, IReadOnlyList<ReachReport> TrialsToRandomsFinalBest);
}
