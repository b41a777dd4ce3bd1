using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Dapper;
using Flotilla.Registry;
using Flotilla.Registry.Events;
using Flotilla.Storage.Artifacts;
using Flotilla.Storage.Metadata;
using Flotilla.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using static Flotilla.Bench.BenchContext;

namespace Flotilla.Bench.Registry;

/// <summary>
/// The registry suite, on SQLite and on a throwaway PostgreSQL: registrations (sequential and concurrent),
/// approvals with their outbox row, and the delay from an approval to its delivery to a subscriber. Baseline
/// measured in the same run on the same store: one single-row INSERT in its own transaction, the floor cost of
/// any durable write. Usage: registry [--count N] [--concurrency C]
/// </summary>
internal static class RegistryBench
{
    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var count = int.Parse(Option(args, "--count") ?? "400", CultureInfo.InvariantCulture);
        var concurrency = int.Parse(Option(args, "--concurrency") ?? "16", CultureInfo.InvariantCulture);
        Console.WriteLine($"# registry benchmark — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {count} operations per row, concurrency {concurrency}");
        Console.WriteLine();

        var directory = Directory.CreateTempSubdirectory("flotilla-bench-registry-").FullName;
        await using var postgres = await PostgresServer.StartAsync(ct);
        try
        {
            var migrations = RegistrySchema.Migrations.Append(new Migration("bench", 1, "CREATE TABLE bench_rows (id TEXT PRIMARY KEY, body TEXT NOT NULL)")).ToList();
            await using (var sqlite = new SqliteMetadataStore(Path.Combine(directory, "bench.db"), migrations))
                await RunBackendAsync(sqlite, count, concurrency, ct);
            await using (var pg = new PostgresMetadataStore(await postgres.CreateDatabaseAsync("bench", ct), migrations))
                await RunBackendAsync(pg, count, concurrency, ct);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
        return 0;
    }

    private static async Task RunBackendAsync(MetadataStore store, int count, int concurrency, CancellationToken ct)
    {
        await store.MigrateAsync(ct);
        var signal = new OutboxSignal();
        var registry = new ModelRegistry(store, TimeProvider.System, signal);
        Console.WriteLine($"## {store.Backend}");
        Console.WriteLine();
        Console.WriteLine("| operation | per operation | operations/s | × baseline |");
        Console.WriteLine("|---|---:|---:|---:|");

        // Warm-up: JIT, pools, the first pages of every table.
        for (var i = 0; i < 20; i++)
        {
            await InsertAsync(store, ct);
            await registry.RegisterAsync(Registration("warmup"), ct);
        }

        var baseline = await TimeAsync(count, 1, _ => InsertAsync(store, ct));
        Row("baseline: one-row INSERT transaction", baseline, baseline);
        var registered = new ConcurrentBag<string>();
        var register = await TimeAsync(count, 1, async _ => registered.Add((await registry.RegisterAsync(Registration("sequential"), ct)).Id));
        Row("register a version (sequential)", register, baseline);
        var concurrent = await TimeAsync(count, concurrency, async i => await registry.RegisterAsync(Registration($"group{i % 4}"), ct));
        Row($"register a version ({concurrency} at once, 4 groups)", concurrent, baseline);
        var ids = registered.ToArray();
        var approve = await TimeAsync(ids.Length, 1, i => registry.UpdateApprovalStatusAsync(ids[i], ApprovalStatus.Approved, "bench", "bench", ct));
        Row("approve (status change + outbox row)", approve, baseline);

        // Delivery: drain what the runs above wrote, then time approval → subscriber for fresh packages.
        var subscriber = new TimingSubscriber();
        using var dispatcher = new OutboxDispatcher(store, [subscriber], signal,
            Options.Create(new OutboxOptions { PollInterval = TimeSpan.FromSeconds(30) }), TimeProvider.System, NullLogger<OutboxDispatcher>.Instance);
        var drain = Stopwatch.StartNew();
        var drained = 0;
        while (await dispatcher.DispatchDueAsync(ct) is var n and > 0)
            drained += n;
        Row($"dispatch backlog ({drained} events, 1 subscriber)", drain.Elapsed / Math.Max(1, drained), baseline);
        await dispatcher.StartAsync(ct);
        var latencies = new List<TimeSpan>();
        for (var i = 0; i < 50; i++)
        {
            var package = await registry.RegisterAsync(Registration("latency"), ct);
            await subscriber.WaitForAsync(package.Id, ApprovalStatus.PendingManualApproval, ct);
            var started = Stopwatch.GetTimestamp();
            await registry.UpdateApprovalStatusAsync(package.Id, ApprovalStatus.Approved, null, "bench", ct);
            await subscriber.WaitForAsync(package.Id, ApprovalStatus.Approved, ct);
            latencies.Add(Stopwatch.GetElapsedTime(started));
        }
        await dispatcher.StopAsync(ct);
        latencies.Sort();
        Console.WriteLine($"| approval → subscriber, p50 (p95) of 50 | {Format(latencies[25])} ({Format(latencies[47])}) | | {latencies[25] / baseline:0.0} |");
        Console.WriteLine();
    }

    private static async Task<TimeSpan> TimeAsync(int count, int concurrency, Func<int, Task> operation)
    {
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
                await operation(i);
        })));
        return clock.Elapsed / count;
    }

    private static Task InsertAsync(MetadataStore store, CancellationToken ct) =>
        store.InTransactionAsync((c, t, token) => c.ExecuteAsync(new CommandDefinition(
            "INSERT INTO bench_rows (id, body) VALUES (@Id, 'x')", new { Id = Guid.NewGuid().ToString("N") }, t, cancellationToken: token)), ct);

    private static RegisterModelPackage Registration(string group) => new(
        $"bench-{group}",
        new ArtifactRef(new string('a', 64), 100_000, new Uri("file:///bench/artifact")),
        JsonSerializer.SerializeToElement(new { auc = 0.97, accuracy = 0.95, f1 = 0.94, precision = 0.93, recall = 0.95 }),
        JsonSerializer.SerializeToElement(new { MaxTuningJobs = 60, RandomState = 42 }),
        new PackageLineage("exec", "RegisterModel", "hash"));

    private static void Row(string name, TimeSpan perOperation, TimeSpan baseline) =>
        Console.WriteLine($"| {name} | {Format(perOperation)} | {1 / perOperation.TotalSeconds:0} | {perOperation / baseline:0.0} |");

    private static string Format(TimeSpan t) => t.TotalMilliseconds >= 1 ? $"{t.TotalMilliseconds:0.00} ms" : $"{t.TotalMicroseconds:0} µs";

    private sealed class TimingSubscriber : IRegistryEventSubscriber
    {
        private readonly ConcurrentDictionary<(string, ApprovalStatus), TaskCompletionSource> _seen = new();

        public Task HandleAsync(ApprovalStatusChanged @event, CancellationToken cancellationToken)
        {
            Signal(@event.PackageId, @event.NewStatus).TrySetResult();
            return Task.CompletedTask;
        }

        public Task WaitForAsync(string packageId, ApprovalStatus status, CancellationToken ct) =>
            Signal(packageId, status).Task.WaitAsync(TimeSpan.FromSeconds(30), ct);

        private TaskCompletionSource Signal(string packageId, ApprovalStatus status) =>
            _seen.GetOrAdd((packageId, status), _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
    }
}
