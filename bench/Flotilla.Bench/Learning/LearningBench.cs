using System.Diagnostics;
using System.Globalization;
using System.Text;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.LightGbm;
using static Flotilla.Bench.BenchContext;

namespace Flotilla.Bench.Learning;

/// <summary>
/// The learning suite: per family with default hyper-parameters on both shared datasets — fit, 5-fold CV,
/// test AUC, artifact size, load, single-row and batch predict — plus the XGBoost-slot engine comparison and
/// loading a generated 100,000 × 20 mixed CSV. Baselines measured in the same run: ML.NET's own
/// CrossValidate and PredictionEngine for LightGbm, and a naive split-lines read of the same CSV.
/// Usage: learning [--datasets DIR] [--rows N] [--calls N]
/// </summary>
internal static class LearningBench
{
    private static readonly string[] DatasetFiles = ["breast-cancer.csv", "banknote-authentication.csv"];

    public static Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var datasets = Option(args, "--datasets") ?? Path.Combine(RepositoryRoot(), "..", "shared", "datasets");
        var rows = int.Parse(Option(args, "--rows") ?? "100000", CultureInfo.InvariantCulture);
        var calls = int.Parse(Option(args, "--calls") ?? "10000", CultureInfo.InvariantCulture);
        Console.WriteLine($"# learning benchmark — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average {LoadAverage()}");
        Console.WriteLine("Times are wall clock; CPU is this process's processor time over the same span (robust to a busy machine).");
        Console.WriteLine();

        // First, so the peak working set is the reader's and not the learners'.
        CsvLoad(rows, ct);

        foreach (var file in DatasetFiles)
        {
            var table = TableReader.Read(Path.Combine(datasets, file), new CsvOptions("CLASS"), ct);
            var (train, test) = table.Split(0.2, stratify: true, seed: 42);
            Console.WriteLine($"## {file}: {table.RowCount} rows, {table.Columns.Count} features, train {train.RowCount}, test {test.RowCount}");
            Console.WriteLine();
            Families(train, test, calls, ct);
            Engines(train, test, ct);
            Baselines(train, test, calls, ct);
        }

        return Task.FromResult(0);
    }

    private static void Families(Table train, Table test, int calls, CancellationToken ct)
    {
        Console.WriteLine("| family | fit ms (CPU) | 5-fold CV ms (CPU) | CV AUC | test AUC | artifact bytes | load ms | predict p50 µs | p99 µs | 1,000 rows ms (min) | 1,000 CSV rows ms (min) |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
        var encodedTest = EncodedRows(test);
        var csv = CsvRows(test, 1000);
        // Warm-up: native libraries load, and the JIT promotes the hot loops to optimised code, which takes many
        // calls and a background delay; one fit per family left the MLP's vector kernels in their first tier
        // (its 5-fold CV measured 554 ms instead of the steady 0.3 s). So each family fits for half a second first.
        foreach (var algorithm in AlgorithmCatalog.All)
        {
            var warm = Stopwatch.StartNew();
            do
            {
                algorithm.Fit(test, HyperParameters.Empty, 1, ct);
            }
            while (warm.ElapsedMilliseconds < 500);
        }

        foreach (var algorithm in AlgorithmCatalog.All)
        {
            var (model, fit) = Measure(() => algorithm.Fit(train, HyperParameters.Empty, 42, ct), 3);
            var folds = CrossValidation.Prepare(train, 5, 42);
            var (cv, cvTime) = Measure(() => CrossValidation.Run(algorithm, HyperParameters.Empty, folds, Scorer.RocAuc, null, ct), 3);
            var report = Evaluator.Evaluate(model, test);
            var bytes = ModelArtifact.Serialize(model);
            var sha = ModelArtifact.Sha256(bytes);
            var (loaded, load) = Measure(() => ModelArtifact.Load(bytes, sha), 20);
            var (p50, p99) = SingleRow(loaded, encodedTest, calls);
            var (_, batch) = Measure(() =>
            {
                double sum = 0;
                for (var i = 0; i < 1000; i++)
                {
                    sum += loaded.PositiveProbability(encodedTest[i % encodedTest.Length]);
                }

                return sum;
            }, 20);
            var (_, batchCsv) = Measure(() => loaded.PredictCsv(csv), 20);
            Console.WriteLine(Invariant(
                $"| {algorithm.Name} | {fit.WallMs:F1} ({fit.CpuMs:F0}) | {cvTime.WallMs:F0} ({cvTime.CpuMs:F0}) | {cv.Mean:F4} | {report.Auc:F4} | {bytes.Length:N0} | {load.WallMs:F2} | {p50:F2} | {p99:F2} | {batch.WallMs:F2} ({batch.MinWallMs:F2}) | {batchCsv.WallMs:F2} ({batchCsv.MinWallMs:F2}) |"));
        }

        Console.WriteLine();
    }

    /// <summary>Every engine of the XGBoost slot and of the random forest, each with the family's defaults.</summary>
    private static void Engines(Table train, Table test, CancellationToken ct)
    {
        Console.WriteLine("Engines behind two families, same hyper-parameters (the family's defaults):");
        Console.WriteLine();
        Console.WriteLine("| family: engine | fit ms (CPU) | 5-fold CV ms (CPU) | CV AUC | test AUC |");
        Console.WriteLine("|---|---|---|---|---|");
        var folds = CrossValidation.Prepare(train, 5, 42);
        IAlgorithm[] algorithms =
        [
            new XGBoost(BoostingEngine.Histogram), new XGBoost(BoostingEngine.LightGbmDepthWise), new XGBoost(BoostingEngine.FastTree),
            new RandomForest(ForestEngine.Managed), new RandomForest(ForestEngine.FastForest),
        ];
        foreach (var algorithm in algorithms)
        {
            var engine = algorithm switch { XGBoost x => x.Engine.ToString(), RandomForest r => r.Engine.ToString(), _ => "" };
            algorithm.Fit(test, HyperParameters.Empty, 1, ct);
            var (model, fit) = Measure(() => algorithm.Fit(train, HyperParameters.Empty, 42, ct), 3);
            var (cv, cvTime) = Measure(() => CrossValidation.Run(algorithm, HyperParameters.Empty, folds, Scorer.RocAuc, null, ct), 1);
            Console.WriteLine(Invariant(
                $"| {algorithm.Name}: {engine} | {fit.WallMs:F1} ({fit.CpuMs:F0}) | {cvTime.WallMs:F0} ({cvTime.CpuMs:F0}) | {cv.Mean:F4} | {Evaluator.Evaluate(model, test).Auc:F4} |"));
        }

        Console.WriteLine();
    }

    /// <summary>ML.NET used directly, the way a first attempt would: CrossValidate and a PredictionEngine.</summary>
    private static void Baselines(Table train, Table test, int calls, CancellationToken ct)
    {
        var width = train.Columns.Count;
        var ml = new MLContext(42);
        var definition = SchemaDefinition.Create(typeof(BaselineRow));
        definition[nameof(BaselineRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        var rows = EncodedRows(train).Select((r, i) => new BaselineRow { Features = r, Label = train.Label(i) }).ToArray();
        var view = ml.Data.LoadFromEnumerable(rows, definition);
        // The same settings as Flotilla's LightGBM defaults, so the ratio is the overhead around the learner.
        var trainer = ml.BinaryClassification.Trainers.LightGbm(new LightGbmBinaryTrainer.Options
        {
            NumberOfThreads = 1,
            NumberOfIterations = 100,
            LearningRate = 0.1,
            NumberOfLeaves = 31,
            MinimumExampleCountPerLeaf = 20,
            Sigmoid = 1,
            Seed = 42,
            Deterministic = true,
            Booster = new GradientBooster.Options { MaximumTreeDepth = 7, MinimumChildWeight = 1 },
        });
        trainer.Fit(view);
        var (cv, cvTime) = Measure(() => ml.BinaryClassification.CrossValidate(view, trainer, 5), 3);
        var ours = AlgorithmCatalog.Get("LightGBM");
        var folds = CrossValidation.Prepare(train, 5, 42);
        var (_, ourCv) = Measure(() => CrossValidation.Run(ours, HyperParameters.Empty, folds, Scorer.RocAuc, null, ct), 3);

        var model = trainer.Fit(view);
        var engine = ml.Model.CreatePredictionEngine<BaselineRow, BaselineScore>(model, inputSchemaDefinition: definition);
        var testRows = EncodedRows(test);
        var input = new BaselineRow { Features = new float[width] };
        var output = new BaselineScore();
        var timings = new double[calls];
        for (var i = 0; i < calls + 1000; i++)
        {
            testRows[i % testRows.Length].CopyTo(input.Features, 0);
            var start = Stopwatch.GetTimestamp();
            engine.Predict(input, ref output);
            if (i >= 1000)
            {
                timings[i - 1000] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }
        }

        Array.Sort(timings);
        var loaded = ours.Fit(train, HyperParameters.Empty, 42, ct).ToLoaded();
        var (p50, p99) = SingleRow(loaded, testRows, calls);
        Console.WriteLine("Baseline — ML.NET used directly on the same data (LightGbm with Flotilla's LightGBM defaults, 1 thread):");
        Console.WriteLine();
        Console.WriteLine("| measure | ML.NET direct | Flotilla | ratio |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine(Invariant($"| 5-fold CV ms (CPU ms) | {cvTime.WallMs:F0} ({cvTime.CpuMs:F0}) | {ourCv.WallMs:F0} ({ourCv.CpuMs:F0}) | {cvTime.CpuMs / Math.Max(ourCv.CpuMs, 0.001):F1}× less CPU |"));
        Console.WriteLine(Invariant($"| single-row p50 µs | {timings[calls / 2]:F2} | {p50:F2} | {timings[calls / 2] / p50:F1}× |"));
        Console.WriteLine(Invariant($"| single-row p99 µs | {timings[(int)(calls * 0.99)]:F2} | {p99:F2} | {timings[(int)(calls * 0.99)] / p99:F1}× |"));
        Console.WriteLine(Invariant($"| CV AUC | {cv.Average(f => f.Metrics.AreaUnderRocCurve):F4} | — | |"));
        Console.WriteLine();
    }

    private static void CsvLoad(int rows, CancellationToken ct)
    {
        var path = Path.Combine(Path.GetTempPath(), $"flotilla-bench-{rows}x20.csv");
        Generate(path, rows);
        var size = new FileInfo(path).Length;
        GC.Collect();

        // Ours first, in a process that has done nothing else yet, so the peak working set is the reader's.
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        var before = process.WorkingSet64;
        var managedBefore = GC.GetTotalMemory(true);
        var allocatedBefore = GC.GetTotalAllocatedBytes(true);
        var (table, read) = Measure(() => TableReader.Read(path, new CsvOptions("label"), ct), 1);
        var allocated = GC.GetTotalAllocatedBytes(true) - allocatedBefore;
        process.Refresh();
        var peak = process.PeakWorkingSet64;
        var retained = GC.GetTotalMemory(true) - managedBefore;
        var (again, readAgain) = Measure(() => TableReader.Read(path, new CsvOptions("label"), ct), 3);
        GC.KeepAlive(again);

        // Baseline: read every line and split on commas (no quoting, no typing) — the floor of any reader.
        var (lines, naive) = Measure(() => File.ReadAllLines(path).Select(l => l.Split(',')).ToArray(), 3);
        var naiveFields = lines.Sum(l => l.Length);
        Console.WriteLine($"## Loading a generated CSV: {rows:N0} rows × 20 columns (12 numeric, 8 categorical, ~5% missing) + label, {size / 1e6:F1} MB");
        Console.WriteLine();
        Console.WriteLine("| reader | ms (CPU) | memory |");
        Console.WriteLine("|---|---|---|");
        Console.WriteLine(Invariant($"| naive ReadAllLines + Split (baseline, untyped, {naiveFields:N0} strings), median of 3 | {naive.WallMs:F0} ({naive.CpuMs:F0}) | — |"));
        Console.WriteLine(Invariant(
            $"| TableReader.Read (typed, {table.Columns.Count(c => c.Kind == ColumnKind.Categorical)} categorical), first read | {read.WallMs:F0} ({read.CpuMs:F0}) | process peak working set {peak / 1e6:F0} MB (before: {before / 1e6:F0} MB), allocated {allocated / 1e6:F0} MB, table retained {retained / 1e6:F0} MB |"));
        Console.WriteLine(Invariant($"| TableReader.Read, warm, median of 3 | {readAgain.WallMs:F0} ({readAgain.CpuMs:F0}) | |"));
        Console.WriteLine();
        Console.WriteLine(Invariant($"Ratio: the warm typed read takes {readAgain.WallMs / naive.WallMs:F2}× the naive split's wall time ({readAgain.CpuMs / Math.Max(naive.CpuMs, 1):F2}× its CPU)."));
        Console.WriteLine();
        File.Delete(path);
        GC.KeepAlive(table);
    }

    private static void Generate(string path, int rows)
    {
        var random = new Random(42);
        string[] words = ["alpha", "beta", "gamma", "delta, inc", "epsilon", "zeta", "eta", "theta"];
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 16);
        writer.WriteLine(string.Join(',', Enumerable.Range(0, 12).Select(i => $"num {i}").Concat(Enumerable.Range(0, 8).Select(i => $"cat {i}"))) + ",label");
        var line = new StringBuilder();
        for (var r = 0; r < rows; r++)
        {
            line.Clear();
            for (var c = 0; c < 12; c++)
            {
                if (random.Next(20) > 0)
                {
                    line.Append((random.NextDouble() * 1000 - 500).ToString("F4", CultureInfo.InvariantCulture));
                }

                line.Append(',');
            }

            for (var c = 0; c < 8; c++)
            {
                var missing = random.Next(20) == 0;
                var word = words[random.Next(words.Length)];
                line.Append(missing ? "NA" : word.Contains(',') ? $"\"{word}\"" : word).Append(c < 7 ? "," : "");
            }

            line.Append(',').Append(random.Next(3) == 0 ? ">50K" : "<=50K");
            writer.WriteLine(line);
        }
    }

    private static (double P50, double P99) SingleRow(LoadedModel model, float[][] rows, int calls)
    {
        var timings = new double[calls];
        double sink = 0;
        // Warm for half a second, not a fixed count: the JIT promotes a hot method to optimised code on a background
        // thread after a delay, and 1,000 warm-up calls left the forest's tree walk in its first tier (breast-cancer:
        // 10 µs a row over the next 10,000 calls, 2.2 µs once promoted).
        var warm = Stopwatch.StartNew();
        for (var i = 0; warm.ElapsedMilliseconds < 500; i++)
        {
            sink += model.Predict(rows[i % rows.Length]).Probability;
        }

        for (var i = 0; i < calls; i++)
        {
            var row = rows[i % rows.Length];
            var start = Stopwatch.GetTimestamp();
            sink += model.Predict(row).Probability;
            timings[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        GC.KeepAlive(sink);
        Array.Sort(timings);
        return (timings[calls / 2], timings[(int)(calls * 0.99)]);
    }

    private static float[][] EncodedRows(Table table) =>
        Enumerable.Range(0, table.RowCount)
            .Select(r => Enumerable.Range(0, table.Columns.Count).Select(c => (float)table.Number(c, r)).ToArray())
            .ToArray();

    private static string CsvRows(Table table, int count)
    {
        var text = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            var r = i % table.RowCount;
            text.AppendJoin(',', Enumerable.Range(0, table.Columns.Count).Select(c => table.Number(c, r).ToString("R", CultureInfo.InvariantCulture)));
            text.Append('\n');
        }

        return text.ToString();
    }

    /// <summary>Runs <paramref name="action"/> <paramref name="repeats"/> times; the median wall and CPU time.</summary>
    private static (T Result, Timing Time) Measure<T>(Func<T> action, int repeats)
    {
        using var process = Process.GetCurrentProcess();
        var walls = new double[repeats];
        var cpus = new double[repeats];
        T result = default!;
        for (var i = 0; i < repeats; i++)
        {
            process.Refresh();
            var cpu = process.TotalProcessorTime;
            var start = Stopwatch.GetTimestamp();
            result = action();
            walls[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            process.Refresh();
            cpus[i] = (process.TotalProcessorTime - cpu).TotalMilliseconds;
        }

        Array.Sort(walls);
        Array.Sort(cpus);
        return (result, new Timing(walls[repeats / 2], cpus[repeats / 2], walls[0]));
    }

    /// <summary>Median wall and CPU time, and the fastest run (the least disturbed on a busy machine).</summary>
    private readonly record struct Timing(double WallMs, double CpuMs, double MinWallMs);

    private sealed class BaselineRow
    {
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }
    }

    private sealed class BaselineScore
    {
        public float Probability { get; set; }
    }
}
