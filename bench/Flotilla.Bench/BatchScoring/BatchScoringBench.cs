using System.Diagnostics;
using System.Globalization;
using System.Text;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;
using static Flotilla.Bench.BenchContext;

namespace Flotilla.Bench.BatchScoring;

/// <summary>
/// Batch scoring's core as a job runs it (<see cref="CsvScoring.ScoreAsync"/>: stream the file in chunks, score, write
/// the scored CSV to disk) against the baseline of the same run: read the same CSV into a table with the learning
/// library and predict every row in process (<see cref="LoadedModel.PredictProbabilities"/>, writing nothing). Data:
/// breast-cancer-shaped rows, resampled with jitter from a copy given by path (never stored in the repository).
/// Usage: batch [rows] --csv PATH [--label CLASS] [--rows 1000000] [--families A,B]. <c>batch p99</c>: live invocations'
/// p99 under a closed-loop wrk -c4 without and with a batch job running on the same server, alternating, median of rounds.
/// </summary>
internal static class BatchScoringBench
{
    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        if (args.Length > 0 && args[0] == "p99")
            return await LiveP99Async(args[1..], ct);
        if (args.Length > 0 && args[0] == "rows")
            args = args[1..];
        var source = Option(args, "--csv") ?? "/work/shared/datasets/breast-cancer.csv";
        var label = Option(args, "--label") ?? "CLASS";
        var rows = int.Parse(Option(args, "--rows") ?? "1000000", CultureInfo.InvariantCulture);
        var families = (Option(args, "--families") ?? string.Join(',', AlgorithmCatalog.All.Select(a => a.Name))).Split(',');
        if (!File.Exists(source))
        {
            Console.Error.WriteLine($"{source} does not exist: pass --csv PATH to a breast-cancer-shaped CSV with label column {label}.");
            return 2;
        }

        Console.WriteLine($"# batch scoring benchmark — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {rows:N0} rows resampled from {Path.GetFileName(source)}");
        Console.WriteLine();
        var directory = Directory.CreateTempSubdirectory("flotilla-bench-batch-").FullName;
        try
        {
            var train = TableReader.Read(source, new CsvOptions(label), ct);
            var big = Path.Combine(directory, "big.csv");
            await ResampleAsync(source, big, rows, ct);
            var small = Path.Combine(directory, "small.csv");
            await ResampleAsync(source, small, 5000, ct);
            Console.WriteLine($"input: {new FileInfo(big).Length / 1e6:F0} MB");
            Console.WriteLine();
            Console.WriteLine("| family | baseline: read table + predict in process | batch job core: stream, score, write | rows/s | × baseline |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            foreach (var family in families)
            {
                var fitted = AlgorithmCatalog.Get(family).Fit(train, HyperParameters.Empty, 42, ct);
                var bytes = ModelArtifact.Serialize(fitted);
                var model = ModelArtifact.Load(bytes, ModelArtifact.Sha256(bytes));

                // A warm-up of both paths on 5,000 rows (JIT, caches), then one timed pass of each over the same file.
                Baseline(model, small, ct);
                await BatchAsync(model, small, Path.Combine(directory, "scored.csv"), ct);
                var baseline = Baseline(model, big, ct);
                var batch = await BatchAsync(model, big, Path.Combine(directory, "scored.csv"), ct);
                Console.WriteLine(
                    $"| {family} | {rows / baseline.TotalSeconds:N0} rows/s ({baseline.TotalSeconds:F1} s) | {batch.TotalSeconds:F1} s | {rows / batch.TotalSeconds:N0} | {baseline / batch:F2} |");
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
        return 0;
    }

    private static async Task<int> LiveP99Async(string[] args, CancellationToken ct)
    {
        var rows = int.Parse(Option(args, "--rows") ?? "1000000", CultureInfo.InvariantCulture);
        var seconds = int.Parse(Option(args, "--duration") ?? "5", CultureInfo.InvariantCulture);
        var rounds = int.Parse(Option(args, "--rounds") ?? "3", CultureInfo.InvariantCulture);
        var algorithm = Option(args, "--algorithm") ?? "LightGBM";
        Console.WriteLine($"# batch vs live p99 — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {algorithm}, wrk -t2 -c4 {seconds} s, batch of {rows:N0} rows");
        var data = Fleet.BreastCancer.Load(ct);
        await using var server = await Fleet.BenchServer.StartAsync();
        const string group = "multimodel-breast-cancer";
        var package = await server.DeployAsync(group, data.Train(algorithm, 42, ct), ct);
        await server.WaitDeployedAsync(new Dictionary<string, string> { [group] = package.Artifact.Sha256 }, TimeSpan.FromSeconds(60), ct);
        var imports = Directory.CreateDirectory(Path.Combine(server.DataDirectory, "imports")).FullName;
        var big = Path.Combine(imports, "big.csv");
        await ResampleAsync(Path.Combine(RepositoryRoot(), "..", "shared", "datasets", "breast-cancer.csv"), big, rows, ct);
        using (var registered = await server.Client.PostAsync("/api/datasets", Json(new { name = "big", path = big, target = "CLASS" }), ct))
            registered.EnsureSuccessStatusCode();

        var script = Path.Combine(Path.GetTempPath(), $"flotilla-batch-p99-{Environment.ProcessId}.lua");
        await File.WriteAllTextAsync(script,
            $"wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"text/csv\"\nwrk.headers[\"Accept\"] = \"text/csv\"\n" +
            $"wrk.headers[\"Authorization\"] = \"Bearer {server.AdminKey}\"\nwrk.body = \"{data.FirstRow}\"\n", ct);
        try
        {
            var url = new Uri(server.Address, $"/models/{group}/invocations").ToString();
            await Fleet.FleetBench.Wrk.RunAsync(url, script, 2, ct, connections: 4);

            async Task<(Fleet.FleetBench.Result Run, string Collections)> MeasureAsync()
            {
                var gc = GcWindow.Start();
                var run = await Fleet.FleetBench.Wrk.RunAsync(url, script, seconds, ct, connections: 4);
                return (run, gc.Stop());
            }

            var ratios = new List<double>();
            for (var round = 1; round <= rounds; round++)
            {
                // Odd rounds measure without a job first, even rounds with one first: whatever a finished job leaves
                // behind, or the machine's drift over a round, falls on both sides alike.
                var jobFirst = round % 2 == 0;
                var idle = jobFirst ? default : await MeasureAsync();
                using var started = await server.Client.PostAsync("/api/batch-jobs", Json(new { group, dataset = "big" }), ct);
                started.EnsureSuccessStatusCode();
                var id = System.Text.Json.JsonDocument.Parse(await started.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("id").GetString();
                var busy = await MeasureAsync();
                var job = await WaitAsync(server.Client, id!, ct);
                // The job's result (about 300 MB) is still being written back to disk when it ends: wait for that
                // before measuring anything else.
                using (var flush = System.Diagnostics.Process.Start("sync"))
                    await flush.WaitForExitAsync(ct);
                if (jobFirst)
                    idle = await MeasureAsync();
                Console.WriteLine($"round {round}: no batch    {idle.Run}");
                Console.WriteLine($"round {round}: batch on    {busy.Run}   (job {job}{(jobFirst ? ", measured first" : "")})");
                Console.WriteLine($"  collections during wrk: without a job {idle.Collections}; with a job {busy.Collections}");
                if (!job.StartsWith("Succeeded", StringComparison.Ordinal) || job.Contains(" after 0.", StringComparison.Ordinal))
                    Console.WriteLine("  the job must outlast the wrk run for the round to count: raise --rows");
                ratios.Add(busy.Run.P99Ms / idle.Run.P99Ms);
            }

            ratios.Sort();
            Console.WriteLine($"p99 with a batch running / without, median of {rounds}: {ratios[ratios.Count / 2]:F2} (rounds: {string.Join(", ", ratios.Select(r => r.ToString("F2", CultureInfo.InvariantCulture)))}; bar: <= 1.20)");
            return 0;
        }
        finally
        {
            File.Delete(script);
        }
    }

    /// <summary>The server runs in this process: its collections and their pauses over one wrk run.</summary>
    private readonly record struct GcWindow(int Gen0, int Gen1, int Gen2, TimeSpan Paused, long Allocated)
    {
        public static GcWindow Start() => new(GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration(), GC.GetTotalAllocatedBytes());

        public string Stop() =>
            $"gen0 {GC.CollectionCount(0) - Gen0}, gen1 {GC.CollectionCount(1) - Gen1}, gen2 {GC.CollectionCount(2) - Gen2}, " +
            $"paused {(GC.GetTotalPauseDuration() - Paused).TotalMilliseconds:F0} ms, allocated {(GC.GetTotalAllocatedBytes() - Allocated) / 1e6:F0} MB";
    }

    private static StringContent Json(object body) =>
        new(System.Text.Json.JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    /// <summary>Polls the job to its end; "Succeeded after 12.3 s, 1,000,000 rows" or its failure.</summary>
    private static async Task<string> WaitAsync(HttpClient client, string id, CancellationToken ct)
    {
        while (true)
        {
            using var job = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync($"/api/batch-jobs/{id}", ct));
            var root = job.RootElement;
            var status = root.GetProperty("status").GetString();
            if (status is not ("Queued" or "Running"))
            {
                var seconds = root.TryGetProperty("startedAt", out var s) && root.TryGetProperty("endedAt", out var e) && s.ValueKind == System.Text.Json.JsonValueKind.String && e.ValueKind == System.Text.Json.JsonValueKind.String
                    ? (e.GetDateTimeOffset() - s.GetDateTimeOffset()).TotalSeconds : double.NaN;
                var rowsDone = root.GetProperty("rowsDone").GetInt64();
                return string.Create(CultureInfo.InvariantCulture, $"{status} after {seconds:F1} s, {rowsDone:N0} rows, {rowsDone / seconds:N0} rows/s{(root.TryGetProperty("failureReason", out var r) && r.ValueKind == System.Text.Json.JsonValueKind.String ? ": " + r.GetString() : "")}");
            }
            await Task.Delay(100, ct);
        }
    }

    private static TimeSpan Baseline(LoadedModel model, string path, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        var table = TableReader.Read(path, new CsvOptions(model.Schema.LabelName), ct);
        var probabilities = model.PredictProbabilities(table);
        watch.Stop();
        GC.KeepAlive(probabilities);
        return watch.Elapsed;
    }

    private static async Task<TimeSpan> BatchAsync(LoadedModel model, string path, string output, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        using (var reader = new StreamReader(path, Encoding.UTF8, true, 1 << 16))
        await using (var writer = new StreamWriter(output, false, new UTF8Encoding(false), 1 << 16))
            await CsvScoring.ScoreAsync(model, reader, writer, "bench", null, ct);
        watch.Stop();
        return watch.Elapsed;
    }

    /// <summary>Rows drawn with replacement from the source, every number moved by up to ±1 %, seeded.</summary>
    private static async Task ResampleAsync(string source, string destination, int rows, CancellationToken ct)
    {
        var lines = await File.ReadAllLinesAsync(source, ct);
        var header = lines[0];
        var body = lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split(',')).ToArray();
        var random = new Random(42);
        await using var writer = new StreamWriter(destination, false, new UTF8Encoding(false), 1 << 16);
        await writer.WriteLineAsync(header);
        var line = new StringBuilder();
        for (var r = 0; r < rows; r++)
        {
            var fields = body[random.Next(body.Length)];
            line.Clear();
            for (var f = 0; f < fields.Length; f++)
            {
                if (f > 0)
                    line.Append(',');
                if (double.TryParse(fields[f], NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && fields[f].Contains('.'))
                    line.Append((x * (1 + (random.NextDouble() - 0.5) * 0.02)).ToString("G6", CultureInfo.InvariantCulture));
                else
                    line.Append(fields[f]);
            }
            await writer.WriteLineAsync(line, ct);
        }
    }
}
