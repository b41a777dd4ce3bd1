using System.Text.Json.Serialization;
using Dapper;
using Flotilla.Fleet.Monitoring;
using Flotilla.Storage.Metadata;

namespace Flotilla.Server.Monitoring;

/// <summary>
/// A group's drift state changed (ok → warn, warn → alert, alert → ok, …). Delivered at least once to every
/// <see cref="IDriftEventSubscriber"/>; <see cref="EventId"/> tells a repeat apart.
/// </summary>
public sealed record DriftStateChanged(
    string EventId,
    string Group,
    string PackageId,
    int Version,
    [property: JsonConverter(typeof(JsonStringEnumConverter<DriftState>))] DriftState OldState,
    [property: JsonConverter(typeof(JsonStringEnumConverter<DriftState>))] DriftState NewState,
    double MaxPsi,
    string? Feature,
    DateTimeOffset OccurredAt);

/// <summary>Receives drift state changes (register with <c>AddSingleton&lt;IDriftEventSubscriber, …&gt;</c>); throwing makes the event come again.</summary>
public interface IDriftEventSubscriber
{
    Task HandleAsync(DriftStateChanged @event, CancellationToken cancellationToken);
}

/// <summary>
/// The drift outbox: a group's last announced state and the event announcing a change are written in one
/// transaction, and only when the stored state is still the old one — so with several servers watching the same
/// fleet one change makes one event. Delivery follows each round of <see cref="DriftWatch"/>.
/// </summary>
internal sealed partial class DriftEvents(MetadataStore store, IEnumerable<IDriftEventSubscriber> subscribers, TimeProvider time, ILogger<DriftEvents> logger)
{
    public const string Component = "monitoring";

    public static IReadOnlyList<Migration> Migrations { get; } =
    [
        new(Component, 1, """
            CREATE TABLE IF NOT EXISTS monitoring_drift_state (
                group_name TEXT PRIMARY KEY,
                package_id TEXT NOT NULL,
                state TEXT NOT NULL,
                changed_ms BIGINT NOT NULL);
            CREATE TABLE IF NOT EXISTS monitoring_drift_events (
                id TEXT PRIMARY KEY,
                group_name TEXT NOT NULL,
                package_id TEXT NOT NULL,
                version BIGINT NOT NULL,
                old_state TEXT NOT NULL,
                new_state TEXT NOT NULL,
                max_psi DOUBLE PRECISION NOT NULL,
                feature TEXT,
                occurred_ms BIGINT NOT NULL,
                attempts BIGINT NOT NULL,
                delivered_ms BIGINT,
                last_error TEXT);
            CREATE INDEX IF NOT EXISTS monitoring_drift_events_by_group ON monitoring_drift_events (group_name, occurred_ms);
            CREATE INDEX IF NOT EXISTS monitoring_drift_events_due ON monitoring_drift_events (delivered_ms, occurred_ms);
            """),
    ];

    private readonly IDriftEventSubscriber[] _subscribers = [.. subscribers];

    /// <summary>Records <paramref name="report"/>'s state for its group; when that changes the stored one, writes the event. True when it did.</summary>
    public async Task<bool> AnnounceAsync(DriftReport report, CancellationToken cancellationToken)
    {
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        return await store.InTransactionAsync(async (connection, transaction, ct) =>
        {
            var stored = await connection.QuerySingleOrDefaultAsync<StateRow>(new CommandDefinition(
                "SELECT package_id, state FROM monitoring_drift_state WHERE group_name = @Group", new { report.Group }, transaction, cancellationToken: ct));
            var old = stored is not null && stored.PackageId == report.PackageId && Enum.TryParse<DriftState>(stored.State, out var s) ? s : DriftState.Ok;
            if (old == report.State && stored?.PackageId == report.PackageId)
            {
                return false;
            }
            await connection.ExecuteAsync(new CommandDefinition(stored is null
                ? "INSERT INTO monitoring_drift_state (group_name, package_id, state, changed_ms) VALUES (@Group, @PackageId, @State, @Now)"
                : "UPDATE monitoring_drift_state SET package_id = @PackageId, state = @State, changed_ms = @Now WHERE group_name = @Group",
                new { report.Group, report.PackageId, State = report.State.ToString(), Now = nowMs }, transaction, cancellationToken: ct));
            if (old == report.State)
            {
                return false;
            }
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO monitoring_drift_events (id, group_name, package_id, version, old_state, new_state, max_psi, feature, occurred_ms, attempts)
                VALUES (@Id, @Group, @PackageId, @Version, @Old, @New, @MaxPsi, @Feature, @Now, 0)
                """,
                new
                {
                    Id = Guid.CreateVersion7().ToString("N"), report.Group, report.PackageId, Version = (long)report.Version,
                    Old = old.ToString(), New = report.State.ToString(),
                    MaxPsi = report.Features.Count == 0 ? 0 : report.Features.Max(f => f.Psi), Feature = report.TopDrifted.FirstOrDefault(), Now = nowMs,
                }, transaction, cancellationToken: ct));
            return true;
        }, cancellationToken);
    }

    /// <summary>The group's drift events, newest first.</summary>
    public async Task<IReadOnlyList<DriftStateChanged>> ListAsync(string group, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<EventRow>(new CommandDefinition(
            $"{SelectEvents} WHERE group_name = @Group ORDER BY occurred_ms DESC LIMIT @Limit", new { Group = group, Limit = (long)limit }, cancellationToken: cancellationToken));
        return [.. rows.Select(r => r.ToEvent())];
    }

    /// <summary>Delivers the events not yet delivered, oldest first; an event a subscriber refuses stays for the next round.</summary>
    public async Task DeliverAsync(CancellationToken cancellationToken)
    {
        List<EventRow> due;
        await using (var connection = await store.OpenConnectionAsync(cancellationToken))
        {
            due = [.. await connection.QueryAsync<EventRow>(new CommandDefinition(
                $"{SelectEvents} WHERE delivered_ms IS NULL ORDER BY occurred_ms LIMIT 100", cancellationToken: cancellationToken))];
        }
        foreach (var row in due)
        {
            string? error = null;
            try
            {
                foreach (var subscriber in _subscribers)
                {
                    await subscriber.HandleAsync(row.ToEvent(), cancellationToken);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                error = $"{e.GetType().Name}: {e.Message}";
                LogDeliveryFailed(logger, row.GroupName, e);
            }
            await using var connection = await store.OpenConnectionAsync(cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE monitoring_drift_events SET attempts = attempts + 1, delivered_ms = @Delivered, last_error = @Error WHERE id = @Id AND delivered_ms IS NULL",
                new { row.Id, Delivered = error is null ? time.GetUtcNow().ToUnixTimeMilliseconds() : (long?)null, Error = error }, cancellationToken: cancellationToken));
        }
    }

    private const string SelectEvents =
        "SELECT id, group_name, package_id, version, old_state, new_state, max_psi, feature, occurred_ms FROM monitoring_drift_events";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivering a drift event of {Group} failed; it is delivered again after the next round")]
    private static partial void LogDeliveryFailed(ILogger logger, string group, Exception exception);

    private sealed class StateRow
    {
        public string PackageId { get; init; } = "";
        public string State { get; init; } = "";
    }

    private sealed class EventRow
    {
        public string Id { get; init; } = "";
        public string GroupName { get; init; } = "";
        public string PackageId { get; init; } = "";
        public long Version { get; init; }
        public string OldState { get; init; } = "";
        public string NewState { get; init; } = "";
        public double MaxPsi { get; init; }
        public string? Feature { get; init; }
        public long OccurredMs { get; init; }

        public DriftStateChanged ToEvent() => new(
            Id, GroupName, PackageId, (int)Version, Enum.Parse<DriftState>(OldState), Enum.Parse<DriftState>(NewState), MaxPsi, Feature,
            DateTimeOffset.FromUnixTimeMilliseconds(OccurredMs));
    }
}
