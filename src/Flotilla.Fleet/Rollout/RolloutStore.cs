using System.Text.Json;
using Dapper;
using Flotilla.Fleet.Aliases;
using Flotilla.Storage.Metadata;

namespace Flotilla.Fleet.Rollout;

/// <summary>
/// Canary rollouts in the metadata store, one row per (group, version): the plan, the state, the current step and
/// when it started, the latest comparison and the reason it ended. The approval API writes the plan; the group's
/// deployment grain alone moves it on, so a restarted server resumes from the stored step.
/// </summary>
public sealed class RolloutStore(MetadataStore store, TimeProvider time)
{
    public static IEnumerable<Migration> Migrations =>
    [
        new(AliasStore.Component, 4, """
            CREATE TABLE IF NOT EXISTS fleet_rollouts (
                group_name TEXT NOT NULL,
                version BIGINT NOT NULL,
                package_id TEXT NOT NULL,
                previous_version BIGINT,
                plan TEXT NOT NULL,
                state TEXT NOT NULL,
                step_index BIGINT NOT NULL,
                step_started_ms BIGINT,
                reason TEXT,
                comparison TEXT,
                created_by TEXT NOT NULL,
                created_ms BIGINT NOT NULL,
                updated_ms BIGINT NOT NULL,
                PRIMARY KEY (group_name, version));
            CREATE INDEX IF NOT EXISTS fleet_rollouts_state ON fleet_rollouts (state)
            """),
    ];

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private const string Columns =
        "group_name, version, package_id, previous_version, plan, state, step_index, step_started_ms, reason, comparison, created_by, created_ms, updated_ms";

    /// <summary>Records the plan of an approval about to be made; a plan for the same version asked again replaces it.</summary>
    public async Task<CanaryRollout> PlanAsync(string group, int version, string packageId, RolloutPlan plan, string createdBy, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var rollout = new CanaryRollout(group, version, packageId, null, plan, RolloutState.Planned, 0, null, null, null, createdBy, now, now);
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            $"""
            INSERT INTO fleet_rollouts ({Columns})
            VALUES (@GroupName, @Version, @PackageId, @PreviousVersion, @Plan, @State, @StepIndex, @StepStartedMs, @Reason, @Comparison, @CreatedBy, @CreatedMs, @UpdatedMs)
            ON CONFLICT (group_name, version) DO UPDATE SET plan = excluded.plan, state = excluded.state, step_index = 0,
                step_started_ms = NULL, reason = NULL, comparison = NULL, previous_version = NULL, created_by = excluded.created_by,
                created_ms = excluded.created_ms, updated_ms = excluded.updated_ms
            """, Row.From(rollout), cancellationToken: cancellationToken));
        return rollout;
    }

    /// <summary>Forgets a plan whose approval did not happen, so a later plain approval deploys at once.</summary>
    public async Task DiscardPlanAsync(string group, int version, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM fleet_rollouts WHERE group_name = @group AND version = @version AND state = @Planned",
            new { group, version = (long)version, Planned = nameof(RolloutState.Planned) }, cancellationToken: cancellationToken));
    }

    public async Task SaveAsync(CanaryRollout rollout, CancellationToken cancellationToken)
    {
        var row = Row.From(rollout with { UpdatedAt = time.GetUtcNow() });
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE fleet_rollouts SET previous_version = @PreviousVersion, plan = @Plan, state = @State, step_index = @StepIndex,
                step_started_ms = @StepStartedMs, reason = @Reason, comparison = @Comparison, updated_ms = @UpdatedMs
            WHERE group_name = @GroupName AND version = @Version
            """, row, cancellationToken: cancellationToken));
    }

    public async Task<CanaryRollout?> GetAsync(string group, int version, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM fleet_rollouts WHERE group_name = @group AND version = @version",
            new { group, version = (long)version }, cancellationToken: cancellationToken));
        return row?.ToRollout();
    }

    /// <summary>The group's newest rollout, whatever its state, or null.</summary>
    public async Task<CanaryRollout?> LatestAsync(string group, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        var row = await connection.QueryFirstOrDefaultAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM fleet_rollouts WHERE group_name = @group ORDER BY created_ms DESC, version DESC",
            new { group }, cancellationToken: cancellationToken));
        return row?.ToRollout();
    }

    /// <summary>Every group's newest rollout, for the endpoint's view.</summary>
    public async Task<IReadOnlyList<CanaryRollout>> LatestPerGroupAsync(CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM fleet_rollouts ORDER BY group_name, created_ms DESC, version DESC", cancellationToken: cancellationToken));
        return [.. rows.Select(r => r.ToRollout()).GroupBy(r => r.Group, StringComparer.Ordinal).Select(g => g.First())];
    }

    /// <summary>The groups with a rollout that still has to be driven (running or rolling back).</summary>
    public async Task<IReadOnlyList<string>> GroupsInProgressAsync(CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        var groups = await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT DISTINCT group_name FROM fleet_rollouts WHERE state = @Running OR state = @RollingBack",
            new { Running = nameof(RolloutState.Running), RollingBack = nameof(RolloutState.RollingBack) }, cancellationToken: cancellationToken));
        return [.. groups];
    }

    /// <summary>The group's rollout in progress (running or rolling back), or null.</summary>
    public async Task<CanaryRollout?> InProgressAsync(string group, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        var row = await connection.QueryFirstOrDefaultAsync<Row>(new CommandDefinition(
            $"SELECT {Columns} FROM fleet_rollouts WHERE group_name = @group AND (state = @Running OR state = @RollingBack) ORDER BY version DESC",
            new { group, Running = nameof(RolloutState.Running), RollingBack = nameof(RolloutState.RollingBack) }, cancellationToken: cancellationToken));
        return row?.ToRollout();
    }

    private sealed class Row
    {
        public string GroupName { get; set; } = "";
        public long Version { get; set; }
        public string PackageId { get; set; } = "";
        public long? PreviousVersion { get; set; }
        public string Plan { get; set; } = "";
        public string State { get; set; } = "";
        public long StepIndex { get; set; }
        public long? StepStartedMs { get; set; }
        public string? Reason { get; set; }
        public string? Comparison { get; set; }
        public string CreatedBy { get; set; } = "";
        public long CreatedMs { get; set; }
        public long UpdatedMs { get; set; }

        public static Row From(CanaryRollout r) => new()
        {
            GroupName = r.Group,
            Version = r.Version,
            PackageId = r.PackageId,
            PreviousVersion = r.PreviousVersion,
            Plan = JsonSerializer.Serialize(r.Plan, Json),
            State = r.State.ToString(),
            StepIndex = r.StepIndex,
            StepStartedMs = r.StepStartedAt?.ToUnixTimeMilliseconds(),
            Reason = r.Reason,
            Comparison = r.Comparison is null ? null : JsonSerializer.Serialize(r.Comparison, Json),
            CreatedBy = r.CreatedBy,
            CreatedMs = r.CreatedAt.ToUnixTimeMilliseconds(),
            UpdatedMs = r.UpdatedAt.ToUnixTimeMilliseconds(),
        };

        public CanaryRollout ToRollout() => new(
            GroupName, (int)Version, PackageId, PreviousVersion is { } p ? (int)p : null,
            JsonSerializer.Deserialize<RolloutPlan>(Plan, Json)!, Enum.Parse<RolloutState>(State), (int)StepIndex,
            StepStartedMs is { } s ? DateTimeOffset.FromUnixTimeMilliseconds(s) : null, Reason,
            Comparison is null ? null : JsonSerializer.Deserialize<CanaryComparison>(Comparison, Json),
            CreatedBy, DateTimeOffset.FromUnixTimeMilliseconds(CreatedMs), DateTimeOffset.FromUnixTimeMilliseconds(UpdatedMs));
    }
}
