using Dapper;
using Flotilla.Storage.Artifacts;
using Flotilla.Storage.Metadata;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Flotilla.Registry.Events;

/// <summary>How the registry's outbox is delivered; the server binds it from "Flotilla:Outbox".</summary>
public sealed class OutboxOptions
{
    public const string Section = "Flotilla:Outbox";

    /// <summary>How often the outbox is read when this process has not written an event (other processes may have).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Delay before the first retry of a failed delivery; it doubles on every further failure.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long an event being delivered is reserved for this process. If the process dies mid-delivery,
    /// another dispatcher (or this one after a restart) delivers the event once the lease has run out.
    /// </summary>
    public TimeSpan DeliveryLease { get; set; } = TimeSpan.FromMinutes(1);

    public int BatchSize { get; set; } = 100;

    /// <summary>Delivered events are kept this long (for inspection), then deleted by the dispatcher.</summary>
    public TimeSpan RetainDelivered { get; set; } = TimeSpan.FromDays(7);
}

/// <summary>Fails the start with a message naming the setting, rather than a dispatcher that spins or never retries.</summary>
internal sealed class OutboxOptionsValidator : IValidateOptions<OutboxOptions>
{
    public ValidateOptionsResult Validate(string? name, OutboxOptions options)
    {
        List<string> errors = [];
        foreach (var (setting, value) in new[]
        {
            (nameof(options.PollInterval), options.PollInterval),
            (nameof(options.InitialRetryDelay), options.InitialRetryDelay),
            (nameof(options.DeliveryLease), options.DeliveryLease),
        })
        {
            if (value <= TimeSpan.Zero)
            {
                errors.Add($"{OutboxOptions.Section}:{setting} must be positive (was {value}).");
            }
        }
        if (options.MaxRetryDelay < options.InitialRetryDelay)
        {
            errors.Add($"{OutboxOptions.Section}:MaxRetryDelay must be at least InitialRetryDelay (were {options.MaxRetryDelay} and {options.InitialRetryDelay}).");
        }
        if (options.BatchSize < 1)
        {
            errors.Add($"{OutboxOptions.Section}:BatchSize must be at least 1 (was {options.BatchSize}).");
        }
        if (options.RetainDelivered < TimeSpan.Zero)
        {
            errors.Add($"{OutboxOptions.Section}:RetainDelivered must not be negative (was {options.RetainDelivered}).");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>
/// Delivers the registry's outbox to every <see cref="IRegistryEventSubscriber"/> at least once: an event is
/// marked delivered only after all subscribers returned; a failure is retried with exponential backoff; events
/// written before a crash are still undelivered rows and go out when any dispatcher next runs.
/// </summary>
public sealed partial class OutboxDispatcher(
    MetadataStore store,
    IEnumerable<IRegistryEventSubscriber> subscribers,
    OutboxSignal signal,
    IOptions<OutboxOptions> options,
    TimeProvider timeProvider,
    ILogger<OutboxDispatcher> logger) : BackgroundService
{
    private readonly IRegistryEventSubscriber[] _subscribers = [.. subscribers];
    private readonly OutboxOptions _options = options.Value;
    private DateTimeOffset _nextPurge = DateTimeOffset.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await DispatchDueAsync(stoppingToken);
                if (timeProvider.GetUtcNow() >= _nextPurge)
                {
                    await PurgeDeliveredAsync(stoppingToken);
                    _nextPurge = timeProvider.GetUtcNow().AddHours(1);
                }
                await signal.WaitAsync(_options.PollInterval, timeProvider, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The database may be briefly unreachable; the events are safe in it, so keep polling.
                LogDispatchFailed(logger, e);
                await WaitQuietlyAsync(_options.PollInterval, stoppingToken);
            }
        }
    }

    private async Task WaitQuietlyAsync(TimeSpan delay, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(delay, timeProvider, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping; the loop ends.
        }
    }

    /// <summary>Delivers every event that is due now, in the order they were written; returns how many were delivered.</summary>
    public async Task<int> DispatchDueAsync(CancellationToken cancellationToken)
    {
        var nowMs = timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        IReadOnlyList<OutboxRow> due;
        await using (var connection = await store.OpenConnectionAsync(cancellationToken))
        {
            due = [.. await connection.QueryAsync<OutboxRow>(new CommandDefinition(
                """
                SELECT o.id, o.group_name, o.package_id, o.version, o.old_status, o.new_status, o.changed_by, o.occurred_ms,
                       o.attempts, o.next_attempt_ms, p.artifact_sha256, p.artifact_size, p.artifact_uri
                FROM registry_outbox o JOIN registry_packages p ON p.id = o.package_id
                WHERE o.delivered_ms IS NULL AND o.next_attempt_ms <= @Now
                ORDER BY o.occurred_ms, o.package_id, o.package_seq
                LIMIT @Batch
                """, new { Now = nowMs, Batch = (long)_options.BatchSize }, cancellationToken: cancellationToken))];
        }
        var delivered = 0;
        foreach (var row in due)
        {
            if (await TryClaimAsync(row, cancellationToken) && await DeliverAsync(row, cancellationToken))
                delivered++;
        }
        return delivered;
    }

    /// <summary>Events not yet delivered to every subscriber.</summary>
    public async Task<long> CountUndeliveredAsync(CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM registry_outbox WHERE delivered_ms IS NULL", cancellationToken: cancellationToken));
    }

    /// <summary>Deletes events delivered longer ago than <see cref="OutboxOptions.RetainDelivered"/>; returns how many.</summary>
    public async Task<int> PurgeDeliveredAsync(CancellationToken cancellationToken)
    {
        var cutoff = timeProvider.GetUtcNow().Subtract(_options.RetainDelivered).ToUnixTimeMilliseconds();
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM registry_outbox WHERE delivered_ms IS NOT NULL AND delivered_ms < @Cutoff",
            new { Cutoff = cutoff }, cancellationToken: cancellationToken));
    }

    /// <summary>Reserves the event for the lease; false if another dispatcher took it first.</summary>
    private async Task<bool> TryClaimAsync(OutboxRow row, CancellationToken cancellationToken)
    {
        var leaseUntil = timeProvider.GetUtcNow().Add(_options.DeliveryLease).ToUnixTimeMilliseconds();
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE registry_outbox SET next_attempt_ms = @LeaseUntil WHERE id = @Id AND delivered_ms IS NULL AND next_attempt_ms = @Seen",
            new { row.Id, LeaseUntil = leaseUntil, Seen = row.NextAttemptMs }, cancellationToken: cancellationToken)) == 1;
    }

    private async Task<bool> DeliverAsync(OutboxRow row, CancellationToken cancellationToken)
    {
        var @event = row.ToEvent();
        var attempts = row.Attempts + 1;
        try
        {
            foreach (var subscriber in _subscribers)
                await subscriber.HandleAsync(@event, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down: give the event back at once rather than leaving it leased.
            await RecordAsync(row.Id, "next_attempt_ms = @Now", new { row.Id, Now = timeProvider.GetUtcNow().ToUnixTimeMilliseconds() }, CancellationToken.None);
            throw;
        }
        catch (Exception e)
        {
            var delay = RetryDelay(attempts);
            LogDeliveryFailed(logger, @event.PackageId, @event.NewStatus, attempts, delay, e);
            await RecordAsync(row.Id, "attempts = @Attempts, next_attempt_ms = @Next, last_error = @Error", new
            {
                row.Id, Attempts = attempts, Next = timeProvider.GetUtcNow().Add(delay).ToUnixTimeMilliseconds(),
                Error = $"{e.GetType().Name}: {e.Message}",
            }, cancellationToken);
            return false;
        }
        await RecordAsync(row.Id, "attempts = @Attempts, delivered_ms = @Now, last_error = NULL",
            new { row.Id, Attempts = attempts, Now = timeProvider.GetUtcNow().ToUnixTimeMilliseconds() }, cancellationToken);
        LogDelivered(logger, @event.PackageId, @event.OldStatus, @event.NewStatus, attempts);
        return true;
    }

    internal TimeSpan RetryDelay(long attempts)
    {
        var factor = Math.Pow(2, Math.Min(attempts - 1, 30));
        var delay = TimeSpan.FromTicks((long)Math.Min(_options.InitialRetryDelay.Ticks * factor, _options.MaxRetryDelay.Ticks));
        return delay;
    }

    private async Task RecordAsync(string id, string set, object parameters, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            $"UPDATE registry_outbox SET {set} WHERE id = @Id", parameters, cancellationToken: cancellationToken));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivered registry event for {PackageId} ({OldStatus} -> {NewStatus}) after {Attempts} attempt(s)")]
    private static partial void LogDelivered(ILogger logger, string packageId, ApprovalStatus? oldStatus, ApprovalStatus newStatus, long attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivering the registry event for {PackageId} (-> {NewStatus}) failed on attempt {Attempts}; retrying in {Delay}")]
    private static partial void LogDeliveryFailed(ILogger logger, string packageId, ApprovalStatus newStatus, long attempts, TimeSpan delay, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reading the registry outbox failed; retrying at the next poll")]
    private static partial void LogDispatchFailed(ILogger logger, Exception exception);

    private sealed class OutboxRow
    {
        public string Id { get; init; } = "";
        public string GroupName { get; init; } = "";
        public string PackageId { get; init; } = "";
        public long Version { get; init; }
        public string? OldStatus { get; init; }
        public string NewStatus { get; init; } = "";
        public string? ChangedBy { get; init; }
        public long OccurredMs { get; init; }
        public long Attempts { get; init; }
        public long NextAttemptMs { get; init; }
        public string ArtifactSha256 { get; init; } = "";
        public long ArtifactSize { get; init; }
        public string ArtifactUri { get; init; } = "";

        public ApprovalStatusChanged ToEvent() => new(
            Id, GroupName, PackageId, Version,
            new ArtifactRef(ArtifactSha256, ArtifactSize, ArtifactRef.ParseLocation(ArtifactUri)),
            OldStatus is null ? null : Enum.Parse<ApprovalStatus>(OldStatus),
            Enum.Parse<ApprovalStatus>(NewStatus), ChangedBy,
            DateTimeOffset.FromUnixTimeMilliseconds(OccurredMs));
    }
}
