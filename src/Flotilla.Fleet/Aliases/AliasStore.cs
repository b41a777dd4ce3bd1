using System.Data.Common;
using System.Text.Json;
using Dapper;
using Flotilla.Storage.Metadata;

namespace Flotilla.Fleet.Aliases;

/// <summary>
/// The durable alias map and deployment history in the metadata store. The deployment grain of a group is
/// its only writer; every process reads it to fill its <see cref="AliasCache"/>.
/// </summary>
public sealed class AliasStore(MetadataStore store, TimeProvider time)
{
    public const string Component = "fleet";

    public static IEnumerable<Migration> Migrations =>
    [
        new(Component, 1, """
            CREATE TABLE IF NOT EXISTS fleet_aliases (
                group_name TEXT NOT NULL PRIMARY KEY,
                package_id TEXT NOT NULL,
                version BIGINT NOT NULL,
                artifact_sha256 TEXT NOT NULL,
                deployed_ms BIGINT NOT NULL,
                revision BIGINT NOT NULL);
            CREATE TABLE IF NOT EXISTS fleet_deployments (
                group_name TEXT NOT NULL,
                sequence BIGINT NOT NULL,
                package_id TEXT NOT NULL,
                version BIGINT NOT NULL,
                artifact_sha256 TEXT NOT NULL,
                reason TEXT NOT NULL,
                from_ms BIGINT NOT NULL,
                to_ms BIGINT,
                end_reason TEXT,
                PRIMARY KEY (group_name, sequence))
            """),
        new(Component, 2, """
            CREATE TABLE IF NOT EXISTS fleet_deployment_failures (
                group_name TEXT NOT NULL,
                at_ms BIGINT NOT NULL,
                package_id TEXT NOT NULL,
                version BIGINT NOT NULL,
                artifact_sha256 TEXT NOT NULL,
                reason TEXT NOT NULL,
                error TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS fleet_deployment_failures_group ON fleet_deployment_failures (group_name, at_ms)
            """),
        // A split alias: its routes and sticky header as JSON; NULL for a single version.
        new(Component, 3, "ALTER TABLE fleet_aliases ADD COLUMN policy TEXT"),
    ];

    private static readonly JsonSerializerOptions PolicyJson = new(JsonSerializerDefaults.Web);

    public async Task<IReadOnlyList<Deployment>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<AliasRow>(new CommandDefinition(
            "SELECT group_name, package_id, version, artifact_sha256, deployed_ms, revision, policy FROM fleet_aliases ORDER BY group_name",
            cancellationToken: cancellationToken));
        return [.. rows.Select(r => r.ToDeployment())];
    }

    public async Task<Deployment?> GetAsync(string group, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<AliasRow>(new CommandDefinition(
            "SELECT group_name, package_id, version, artifact_sha256, deployed_ms, revision, policy FROM fleet_aliases WHERE group_name = @group",
            new { group }, cancellationToken: cancellationToken));
        return row?.ToDeployment();
    }

    public async Task<IReadOnlyList<DeploymentRecord>> HistoryAsync(string group, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<HistoryRow>(new CommandDefinition(
            """
            SELECT group_name, sequence, package_id, version, artifact_sha256, reason, from_ms, to_ms, end_reason
            FROM fleet_deployments WHERE group_name = @group ORDER BY sequence
            """, new { group }, cancellationToken: cancellationToken));
        return [.. rows.Select(r => r.ToRecord())];
    }

    /// <summary>The attempts to deploy a version of <paramref name="group"/> that failed (the alias stayed where it was), oldest first.</summary>
    public async Task<IReadOnlyList<DeploymentFailure>> FailuresAsync(string group, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<FailureRow>(new CommandDefinition(
            """
            SELECT group_name, at_ms, package_id, version, artifact_sha256, reason, error
            FROM fleet_deployment_failures WHERE group_name = @group ORDER BY at_ms
            """, new { group }, cancellationToken: cancellationToken));
        return [.. rows.Select(r => r.ToFailure())];
    }

    /// <summary>Records that <paramref name="version"/> of <paramref name="group"/> could not be deployed, and why.</summary>
    public async Task RecordFailureAsync(
        string group, string packageId, int version, string artifactSha256, DeploymentReason reason, string error, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO fleet_deployment_failures (group_name, at_ms, package_id, version, artifact_sha256, reason, error)
            VALUES (@group, @at, @packageId, @version, @artifactSha256, @reasonText, @error)
            """,
            new { group, at = time.GetUtcNow().ToUnixTimeMilliseconds(), packageId, version = (long)version, artifactSha256, reasonText = reason.ToString(), error },
            cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Moves the alias of <paramref name="group"/> to <paramref name="target"/> (or removes it when null), closes
    /// the history interval of the version it leaves and opens one for the new version, in one transaction. With a
    /// <paramref name="policy"/> the target is its heaviest route and the calls are split as it says.
    /// </summary>
    public Task<Deployment?> MoveAsync(
        string group, (string PackageId, int Version, string ArtifactSha256)? target, DeploymentReason reason, CancellationToken cancellationToken,
        TrafficPolicy? policy = null) =>
        store.InTransactionAsync(async (connection, transaction, ct) =>
        {
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            var reasonText = reason.ToString();
            await Execute(connection, transaction, ct,
                "UPDATE fleet_deployments SET to_ms = @now, end_reason = @reasonText WHERE group_name = @group AND to_ms IS NULL",
                new { now, reasonText, group });
            if (target is not { } t)
            {
                await Execute(connection, transaction, ct, "DELETE FROM fleet_aliases WHERE group_name = @group", new { group });
                return null;
            }
            var sequence = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT COALESCE(MAX(sequence), 0) + 1 FROM fleet_deployments WHERE group_name = @group",
                new { group }, transaction, cancellationToken: ct));
            await Execute(connection, transaction, ct,
                """
                INSERT INTO fleet_deployments (group_name, sequence, package_id, version, artifact_sha256, reason, from_ms)
                VALUES (@group, @sequence, @PackageId, @Version, @ArtifactSha256, @reasonText, @now)
                """,
                new { group, sequence, t.PackageId, Version = (long)t.Version, t.ArtifactSha256, reasonText, now });
            await Execute(connection, transaction, ct,
                """
                INSERT INTO fleet_aliases (group_name, package_id, version, artifact_sha256, deployed_ms, revision, policy)
                VALUES (@group, @PackageId, @Version, @ArtifactSha256, @now, @sequence, @policyJson)
                ON CONFLICT (group_name) DO UPDATE SET package_id = excluded.package_id, version = excluded.version,
                    artifact_sha256 = excluded.artifact_sha256, deployed_ms = excluded.deployed_ms, revision = excluded.revision,
                    policy = excluded.policy
                """,
                new { group, t.PackageId, Version = (long)t.Version, t.ArtifactSha256, now, sequence, policyJson = policy is null ? null : JsonSerializer.Serialize(policy, PolicyJson) });
            return new Deployment(group, t.PackageId, t.Version, t.ArtifactSha256, DateTimeOffset.FromUnixTimeMilliseconds(now), sequence, policy);
        }, cancellationToken);

    private static Task<int> Execute(DbConnection connection, DbTransaction transaction, CancellationToken ct, string sql, object parameters) =>
        connection.ExecuteAsync(new CommandDefinition(sql, parameters, transaction, cancellationToken: ct));

    private sealed class AliasRow
    {
        public string GroupName { get; set; } = "";
        public string PackageId { get; set; } = "";
        public long Version { get; set; }
        public string ArtifactSha256 { get; set; } = "";
        public long DeployedMs { get; set; }
        public long Revision { get; set; }
        public string? Policy { get; set; }

        public Deployment ToDeployment() =>
            new(GroupName, PackageId, (int)Version, ArtifactSha256, DateTimeOffset.FromUnixTimeMilliseconds(DeployedMs), Revision,
                Policy is null ? null : JsonSerializer.Deserialize<TrafficPolicy>(Policy, PolicyJson));
    }

    private sealed class FailureRow
    {
        public string GroupName { get; set; } = "";
        public long AtMs { get; set; }
        public string PackageId { get; set; } = "";
        public long Version { get; set; }
        public string ArtifactSha256 { get; set; } = "";
        public string Reason { get; set; } = "";
        public string Error { get; set; } = "";

        public DeploymentFailure ToFailure() => new(
            GroupName, PackageId, (int)Version, ArtifactSha256, Enum.Parse<DeploymentReason>(Reason), DateTimeOffset.FromUnixTimeMilliseconds(AtMs), Error);
    }

    private sealed class HistoryRow
    {
        public string GroupName { get; set; } = "";
        public long Sequence { get; set; }
        public string PackageId { get; set; } = "";
        public long Version { get; set; }
        public string ArtifactSha256 { get; set; } = "";
        public string Reason { get; set; } = "";
        public long FromMs { get; set; }
        public long? ToMs { get; set; }
        public string? EndReason { get; set; }

        public DeploymentRecord ToRecord() => new(
            GroupName, Sequence, PackageId, (int)Version, ArtifactSha256, Enum.Parse<DeploymentReason>(Reason),
            DateTimeOffset.FromUnixTimeMilliseconds(FromMs), ToMs is { } to ? DateTimeOffset.FromUnixTimeMilliseconds(to) : null,
            EndReason is { } end ? Enum.Parse<DeploymentReason>(end) : null);
    }
}
