using System.Diagnostics;
using System.Globalization;
using Dapper;
using Flotilla.Pipelines;
using Flotilla.Pipelines.Execution;
using Flotilla.Registry;
using Flotilla.Storage;
using Flotilla.Storage.Metadata;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using static Flotilla.Bench.BenchContext;

namespace Flotilla.Bench.Engine;

/// <summary>
/// Engine overhead on SQLite: an execution of a pipeline of 10 trivial steps (chained Condition steps), from
/// start to Succeeded — the bar is ≤ 200 ms. Every status change is a durable write, so the baseline measured
/// in the same run is one single-row INSERT transaction on the same store. Also shown: 10 chained Process steps
/// running `true` (process spawn included) and executions started many at once.
/// Usage: engine [--runs N] [--concurrent C]
/// </summary>
internal static class EngineBench
{
    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var runs = int.Parse(Option(args, "--runs") ?? "50", CultureInfo.InvariantCulture);
        var concurrent = int.Parse(Option(args, "--concurrent") ?? "50", CultureInfo.InvariantCulture);
        Console.WriteLine($"# engine benchmark — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, SQLite, {runs} runs per row");
        Console.WriteLine();

        var directory = Directory.CreateTempSubdirectory("flotilla-bench-engine-").FullName;
        try
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            builder.Services.AddFlotillaStorage(o => o.DataDirectory = directory);
            builder.Services.AddFlotillaRegistry();
            builder.Services.AddFlotillaPipelines(o => o.DataDirectory = directory);
            builder.Services.AddFlotillaMigrations(new Migration("bench", 1, "CREATE TABLE bench_rows (id TEXT PRIMARY KEY, body TEXT NOT NULL)"));
            using var host = builder.Build();
            await host.StartAsync(ct);
            var store = host.Services.GetRequiredService<MetadataStore>();
            var executions = host.Services.GetRequiredService<Executions>();
            var pipelines = host.Services.GetRequiredService<Flotilla.Pipelines.Definitions.PipelineCatalog>();
            await pipelines.CreateAsync(Chain("ten-conditions", i => $"type: Condition, condition: {{ eq: [{i}, {i}] }}"), ct);
            await pipelines.CreateAsync(Chain("ten-processes", _ => "type: Process, command: [\"true\"]"), ct);

            for (var i = 0; i < 10; i++)
            {
                await InsertAsync(store, ct);
                await RunOnceAsync(executions, "ten-conditions", ct);
            }

            Console.WriteLine("| measurement | median | p95 | × baseline (median) |");
            Console.WriteLine("|---|---:|---:|---:|");
            var baseline = await TimeAsync(runs, () => InsertAsync(store, ct));
            Row("baseline: one-row INSERT transaction", baseline, baseline);
            var conditions = await TimeAsync(runs, () => RunOnceAsync(executions, "ten-conditions", ct));
            Row("10 trivial steps (Condition), start → Succeeded", conditions, baseline);
            var processes = await TimeAsync(Math.Max(5, runs / 5), () => RunOnceAsync(executions, "ten-processes", ct));
            Row("10 Process steps running `true`, start → Succeeded", processes, baseline);

            var all = Stopwatch.StartNew();
            var ids = await Task.WhenAll(Enumerable.Range(0, concurrent).Select(_ => executions.StartAsync("ten-conditions", null, ct)));
            var finished = await Task.WhenAll(ids.Select(id => executions.WaitAsync(id, ct)));
            all.Stop();
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{concurrent} executions of the 10-step pipeline started at once: all done in {all.Elapsed.TotalMilliseconds:0} ms " +
                $"({concurrent * 10 / all.Elapsed.TotalSeconds:0} steps/s), {finished.Count(f => f.Status == ExecutionStatus.Succeeded)} Succeeded."));
            var median = conditions[conditions.Length / 2];
            Console.WriteLine();
            Console.WriteLine(median <= 200 ? $"bar met: median {median:0.0} ms ≤ 200 ms" : $"bar MISSED: median {median:0.0} ms > 200 ms");
            await host.StopAsync(ct);
            return median <= 200 ? 0 : 1;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
        }
    }

    private static string Chain(string name, Func<int, string> step)
    {
        var lines = new List<string> { $"name: {name}", "steps:" };
        for (var i = 0; i < 10; i++)
        {
            lines.Add($"  - {{ name: s{i}, {step(i)}{(i > 0 ? $", dependsOn: [s{i - 1}]" : "")} }}");
        }
        return string.Join('\n', lines);
    }

    private static async Task RunOnceAsync(Executions executions, string pipeline, CancellationToken ct)
    {
        var id = await executions.StartAsync(pipeline, null, ct);
        var done = await executions.WaitAsync(id, ct);
        if (done.Status != ExecutionStatus.Succeeded)
        {
            throw new InvalidOperationException($"Execution {id} of {pipeline} ended {done.Status}: {done.FailureReason}");
        }
    }

    private static async Task InsertAsync(MetadataStore store, CancellationToken ct) =>
        await store.InTransactionAsync((c, t, token) => c.ExecuteAsync(new CommandDefinition(
            "INSERT INTO bench_rows (id, body) VALUES (@Id, 'x')", new { Id = Guid.NewGuid().ToString("N") }, t, cancellationToken: token)), ct);

    private static async Task<double[]> TimeAsync(int count, Func<Task> operation)
    {
        var times = new double[count];
        for (var i = 0; i < count; i++)
        {
            var watch = Stopwatch.StartNew();
            await operation();
            times[i] = watch.Elapsed.TotalMilliseconds;
        }
        Array.Sort(times);
        return times;
    }

    private static void Row(string name, double[] times, double[] baseline)
    {
        var median = times[times.Length / 2];
        var p95 = times[(int)Math.Min(times.Length - 1, Math.Ceiling(times.Length * 0.95) - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {median:0.00} ms | {p95:0.00} ms | {median / baseline[baseline.Length / 2]:0.0}× |"));
    }
}
