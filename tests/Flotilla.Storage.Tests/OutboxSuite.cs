using System.Collections.Concurrent;
using Flotilla.Registry;
using Flotilla.Registry.Events;
using Flotilla.Storage.Metadata;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Flotilla.Storage.Tests;

public sealed class SqliteOutboxTests(SqliteBackend backend) : OutboxSuite(backend), IClassFixture<SqliteBackend>;

public sealed class PostgresOutboxTests(PostgresBackend backend) : OutboxSuite(backend), IClassFixture<PostgresBackend>;

/// <summary>The registry's events: written with the change, delivered at least once, retried, never lost.</summary>
public abstract class OutboxSuite(IBackend backend)
{
    private const string Group = "multimodel-diabetes";

    [Fact]
    public async Task Every_change_is_delivered_to_every_subscriber()
    {
        await using var store = backend.Open(await backend.NewDatabaseAsync(), RegistrySchema.Migrations);
        var signal = new OutboxSignal();
        var registry = new ModelRegistry(store, TimeProvider.System, signal);
        var package = await registry.RegisterAsync(RegistrySuite.Registration(Group), CancellationToken.None);
        await registry.UpdateApprovalStatusAsync(package.Id, ApprovalStatus.Approved, "ok", "ana", CancellationToken.None);
        var (deployer, auditor) = (new RecordingSubscriber(), new RecordingSubscriber());
        var dispatcher = Dispatcher(store, signal, TimeProvider.System, new OutboxOptions(), deployer, auditor);

        Assert.Equal(2, await dispatcher.DispatchDueAsync(CancellationToken.None));
        Assert.Equal(0, await dispatcher.DispatchDueAsync(CancellationToken.None));

        foreach (var subscriber in new[] { deployer, auditor })
        {
            Assert.Equal(
                [(null, ApprovalStatus.PendingManualApproval), (ApprovalStatus.PendingManualApproval, ApprovalStatus.Approved)],
                subscriber.Received.Select(e => (e.OldStatus, e.NewStatus)));
            var approval = subscriber.Received.Last();
            Assert.Equal((Group, package.Id, 1L, package.Artifact, "ana"), (approval.Group, approval.PackageId, approval.Version, approval.Artifact, approval.ChangedBy));
        }
        Assert.Equal(0, await dispatcher.CountUndeliveredAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_failing_subscriber_gets_the_event_again_with_exponential_backoff()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
        await using var store = backend.Open(await backend.NewDatabaseAsync(), RegistrySchema.Migrations, time);
        var signal = new OutboxSignal();
        await new ModelRegistry(store, time, signal).RegisterAsync(RegistrySuite.Registration(Group), CancellationToken.None);
        var flaky = new RecordingSubscriber(failures: 3);
        var dispatcher = Dispatcher(store, signal, time,
            new OutboxOptions { InitialRetryDelay = TimeSpan.FromSeconds(1), MaxRetryDelay = TimeSpan.FromMinutes(1) }, flaky);

        // Attempts at t = 0 s, 1 s, 3 s fail; the fourth, due at 3 + 4 = 7 s, succeeds. Between them nothing is due.
        var schedule = new (double AdvanceSeconds, int Delivered, int Calls)[]
        {
            (0, 0, 1), (0.9, 0, 1), (0.1, 0, 2), (1.9, 0, 2), (0.1, 0, 3), (3.9, 0, 3), (0.1, 1, 4), (100, 0, 4),
        };
        foreach (var (advance, delivered, calls) in schedule)
        {
            time.Advance(TimeSpan.FromSeconds(advance));
            Assert.Equal(delivered, await dispatcher.DispatchDueAsync(CancellationToken.None));
            Assert.Equal(calls, flaky.Calls);
        }
        Assert.Single(flaky.Received);
        Assert.Equal(0, await dispatcher.CountUndeliveredAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Delivered_events_are_purged_after_the_retention_and_undelivered_ones_never()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
        await using var store = backend.Open(await backend.NewDatabaseAsync(), RegistrySchema.Migrations, time);
        var registry = new ModelRegistry(store, time, new OutboxSignal());
        await registry.RegisterAsync(RegistrySuite.Registration(Group), CancellationToken.None);
        var options = new OutboxOptions { RetainDelivered = TimeSpan.FromDays(7) };
        await Dispatcher(store, new OutboxSignal(), time, options, new RecordingSubscriber()).DispatchDueAsync(CancellationToken.None);
        await registry.RegisterAsync(RegistrySuite.Registration(Group), CancellationToken.None);
        var failing = Dispatcher(store, new OutboxSignal(), time, options, new RecordingSubscriber(failures: int.MaxValue));
        await failing.DispatchDueAsync(CancellationToken.None);

        time.Advance(TimeSpan.FromDays(6));
        Assert.Equal(0, await failing.PurgeDeliveredAsync(CancellationToken.None));
        time.Advance(TimeSpan.FromDays(2));
        Assert.Equal(1, await failing.PurgeDeliveredAsync(CancellationToken.None));
        Assert.Equal(1, await failing.CountUndeliveredAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Events_written_before_a_crash_are_delivered_when_a_dispatcher_next_starts()
    {
        var database = await backend.NewDatabaseAsync();
        string packageId;
        await using (var crashed = backend.Open(database, RegistrySchema.Migrations))
        {
            // The process writes its changes and "dies" before any dispatcher ran: nothing was delivered.
            var registry = new ModelRegistry(crashed, TimeProvider.System, new OutboxSignal());
            packageId = (await registry.RegisterAsync(RegistrySuite.Registration(Group), CancellationToken.None)).Id;
            await registry.UpdateApprovalStatusAsync(packageId, ApprovalStatus.Approved, null, "ana", CancellationToken.None);
        }

        await using var restarted = backend.Open(database, RegistrySchema.Migrations);
        var deployer = new RecordingSubscriber();
        // A poll interval far longer than the test: delivery has to come from the start-up pass itself.
        using var dispatcher = Dispatcher(restarted, new OutboxSignal(), TimeProvider.System,
            new OutboxOptions { PollInterval = TimeSpan.FromHours(1) }, deployer);
        await dispatcher.StartAsync(CancellationToken.None);
        try
        {
            await deployer.WaitForAsync(2);
        }
        finally
        {
            await dispatcher.StopAsync(CancellationToken.None);
        }

        Assert.Equal([ApprovalStatus.PendingManualApproval, ApprovalStatus.Approved], deployer.Received.Select(e => e.NewStatus));
        Assert.All(deployer.Received, e => Assert.Equal(packageId, e.PackageId));
    }

    [Fact]
    public async Task An_event_whose_dispatcher_died_mid_delivery_is_delivered_by_another_after_the_lease()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));
        var database = await backend.NewDatabaseAsync();
        await using var first = backend.Open(database, RegistrySchema.Migrations, time);
        await using var second = backend.Open(database, RegistrySchema.Migrations, time);
        await new ModelRegistry(first, time, new OutboxSignal()).RegisterAsync(RegistrySuite.Registration(Group), CancellationToken.None);
        var options = new OutboxOptions { DeliveryLease = TimeSpan.FromMinutes(1) };
        var stuck = new StuckSubscriber();
        var survivor = new RecordingSubscriber();
        var dying = Dispatcher(first, new OutboxSignal(), time, options, stuck);
        var other = Dispatcher(second, new OutboxSignal(), time, options, survivor);

        // The first dispatcher claims the event and never comes back, as if its process had been killed.
        var abandoned = dying.DispatchDueAsync(CancellationToken.None);
        await stuck.Entered.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(0, await other.DispatchDueAsync(CancellationToken.None));
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(0, await other.DispatchDueAsync(CancellationToken.None));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await other.DispatchDueAsync(CancellationToken.None));

        Assert.Equal(ApprovalStatus.PendingManualApproval, Assert.Single(survivor.Received).NewStatus);
        stuck.Release.SetResult();
        await abandoned;
    }

    [Fact]
    public async Task A_running_dispatcher_delivers_an_approval_without_waiting_for_the_next_poll()
    {
        await using var store = backend.Open(await backend.NewDatabaseAsync(), RegistrySchema.Migrations);
        var signal = new OutboxSignal();
        var registry = new ModelRegistry(store, TimeProvider.System, signal);
        var deployer = new RecordingSubscriber();
        using var dispatcher = Dispatcher(store, signal, TimeProvider.System, new OutboxOptions { PollInterval = TimeSpan.FromHours(1) }, deployer);
        await dispatcher.StartAsync(CancellationToken.None);
        try
        {
            await store.MigrateAsync(CancellationToken.None);
            var package = await registry.RegisterAsync(RegistrySuite.Registration(Group), CancellationToken.None);
            await deployer.WaitForAsync(1);
            await registry.UpdateApprovalStatusAsync(package.Id, ApprovalStatus.Approved, null, "ana", CancellationToken.None);
            await deployer.WaitForAsync(2);
        }
        finally
        {
            await dispatcher.StopAsync(CancellationToken.None);
        }

        Assert.Equal(ApprovalStatus.Approved, deployer.Received.Last().NewStatus);
    }

    [Fact]
    public async Task Two_dispatchers_sharing_a_database_deliver_each_event_once_when_nothing_fails()
    {
        var database = await backend.NewDatabaseAsync();
        await using var first = backend.Open(database, RegistrySchema.Migrations);
        await using var second = backend.Open(database, RegistrySchema.Migrations);
        var registry = new ModelRegistry(first, TimeProvider.System, new OutboxSignal());
        for (var i = 0; i < 12; i++)
            await registry.RegisterAsync(RegistrySuite.Registration(Group), CancellationToken.None);
        var shared = new RecordingSubscriber();
        var dispatchers = new[] { first, second }.Select(s => Dispatcher(s, new OutboxSignal(), TimeProvider.System, new OutboxOptions(), shared)).ToList();

        var delivered = await Task.WhenAll(dispatchers.Select(d => Task.Run(() => d.DispatchDueAsync(CancellationToken.None))));

        Assert.Equal(12, delivered.Sum());
        Assert.Equal(12, shared.Received.Select(e => e.EventId).Distinct().Count());
        Assert.Equal(12, shared.Received.Count);
    }

    private static OutboxDispatcher Dispatcher(
        MetadataStore store, OutboxSignal signal, TimeProvider time, OutboxOptions options, params IRegistryEventSubscriber[] subscribers) =>
        new(store, subscribers, signal, Options.Create(options), time, NullLogger<OutboxDispatcher>.Instance);

    /// <summary>Never returns until released: a dispatcher whose process stopped in the middle of a delivery.</summary>
    private sealed class StuckSubscriber : IRegistryEventSubscriber
    {
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Entered => _entered.Task;

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task HandleAsync(ApprovalStatusChanged @event, CancellationToken cancellationToken)
        {
            _entered.TrySetResult();
            return Release.Task;
        }
    }

    /// <summary>Records what it receives; fails its first <c>failures</c> calls, as an unreachable deployer would.</summary>
    private sealed class RecordingSubscriber(int failures = 0) : IRegistryEventSubscriber
    {
        private readonly ConcurrentQueue<ApprovalStatusChanged> _received = new();
        private readonly SemaphoreSlim _arrived = new(0);
        private int _calls;

        public IReadOnlyList<ApprovalStatusChanged> Received => [.. _received];

        public int Calls => Volatile.Read(ref _calls);

        public Task HandleAsync(ApprovalStatusChanged @event, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _calls) <= failures)
                throw new HttpRequestException("deployer unreachable");
            _received.Enqueue(@event);
            _arrived.Release();
            return Task.CompletedTask;
        }

        public async Task WaitForAsync(int count)
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            while (_received.Count < count)
                await _arrived.WaitAsync(deadline.Token);
        }
    }
}
