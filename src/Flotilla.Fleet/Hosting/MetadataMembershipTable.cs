using System.Data.Common;
using System.Text.Json;
using Dapper;
using Flotilla.Storage.Metadata;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace Flotilla.Fleet.Hosting;

/// <summary>
/// Orleans cluster membership kept in Flotilla's metadata store (PostgreSQL in cluster mode): the fleet's
/// silos find each other, and the dead are voted out, through two tables of our own schema — no separate
/// SQL scripts to install. Every change is conditional on the table's version tag, as Orleans requires:
/// of two silos racing to change membership, exactly one wins and the other re-reads.
/// </summary>
internal sealed class MetadataMembershipTable(MetadataStore store, IOptions<ClusterOptions> cluster) : IMembershipTable
{
    public static IEnumerable<Migration> Migrations =>
    [
        new("fleet-membership", 1, """
            CREATE TABLE IF NOT EXISTS fleet_membership_versions (
                cluster_id TEXT NOT NULL PRIMARY KEY,
                version BIGINT NOT NULL,
                etag TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS fleet_membership (
                cluster_id TEXT NOT NULL,
                address TEXT NOT NULL,
                status BIGINT NOT NULL,
                entry TEXT NOT NULL,
                etag TEXT NOT NULL,
                i_am_alive_ms BIGINT NOT NULL,
                PRIMARY KEY (cluster_id, address))
            """),
    ];

    private string ClusterId => cluster.Value.ClusterId;

    public async Task InitializeMembershipTable(bool tryInitTableVersion)
    {
        if (!tryInitTableVersion)
        {
            return;
        }
        await using var connection = await store.OpenConnectionAsync(CancellationToken.None);
        await connection.ExecuteAsync(
            "INSERT INTO fleet_membership_versions (cluster_id, version, etag) VALUES (@ClusterId, 0, @Etag) ON CONFLICT (cluster_id) DO NOTHING",
            new { ClusterId, Etag = NewEtag() });
    }

    public async Task DeleteMembershipTableEntries(string clusterId)
    {
        await store.InTransactionAsync(async (connection, transaction, ct) =>
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM fleet_membership WHERE cluster_id = @clusterId", new { clusterId }, transaction, cancellationToken: ct));
            await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM fleet_membership_versions WHERE cluster_id = @clusterId", new { clusterId }, transaction, cancellationToken: ct));
        }, CancellationToken.None);
    }

    public async Task CleanupDefunctSiloEntries(DateTimeOffset beforeDate)
    {
        await using var connection = await store.OpenConnectionAsync(CancellationToken.None);
        await connection.ExecuteAsync(
            "DELETE FROM fleet_membership WHERE cluster_id = @ClusterId AND status = @Dead AND i_am_alive_ms < @Before",
            new { ClusterId, Dead = (long)SiloStatus.Dead, Before = beforeDate.ToUnixTimeMilliseconds() });
    }

    public Task<MembershipTableData> ReadRow(SiloAddress key) => ReadAsync(key.ToParsableString());

    public Task<MembershipTableData> ReadAll() => ReadAsync(null);

    public Task<bool> InsertRow(MembershipEntry entry, TableVersion tableVersion) =>
        ConditionallyAsync(tableVersion, (connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO fleet_membership (cluster_id, address, status, entry, etag, i_am_alive_ms)
            VALUES (@ClusterId, @Address, @Status, @Entry, @Etag, @IAmAlive)
            ON CONFLICT (cluster_id, address) DO NOTHING
            """, Row(entry, expectedEtag: null), transaction)));

    public Task<bool> UpdateRow(MembershipEntry entry, string etag, TableVersion tableVersion) =>
        ConditionallyAsync(tableVersion, (connection, transaction) => connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE fleet_membership SET status = @Status, entry = @Entry, etag = @Etag, i_am_alive_ms = @IAmAlive
            WHERE cluster_id = @ClusterId AND address = @Address AND etag = @Expected
            """, Row(entry, etag), transaction)));

    /// <summary>
    /// Applies a row change and moves the table to <paramref name="next"/> in one transaction, or neither: false
    /// when another silo moved the table first or the row is not as the caller read it.
    /// </summary>
    private async Task<bool> ConditionallyAsync(TableVersion next, Func<DbConnection, DbTransaction, Task<int>> change)
    {
        try
        {
            await store.InTransactionAsync(async (connection, transaction, ct) =>
            {
                if (await change(connection, transaction) != 1 || !await BumpVersionAsync(connection, transaction, next))
                {
                    throw new LostRace();
                }
            }, CancellationToken.None);
            return true;
        }
        catch (LostRace)
        {
            return false;
        }
    }

    /// <summary>Rolls the transaction back; the caller answers false, as Orleans expects of a lost race.</summary>
    private sealed class LostRace : Exception;

    public async Task UpdateIAmAlive(MembershipEntry entry)
    {
        await using var connection = await store.OpenConnectionAsync(CancellationToken.None);
        await connection.ExecuteAsync(
            "UPDATE fleet_membership SET i_am_alive_ms = @IAmAlive WHERE cluster_id = @ClusterId AND address = @Address",
            new { ClusterId, Address = entry.SiloAddress.ToParsableString(), IAmAlive = new DateTimeOffset(entry.IAmAliveTime).ToUnixTimeMilliseconds() });
    }

    /// <summary>Moves the table to the caller's next version, only if nobody else moved it since the caller read it.</summary>
    private async Task<bool> BumpVersionAsync(DbConnection connection, DbTransaction transaction, TableVersion next) =>
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE fleet_membership_versions SET version = @Version, etag = @NewEtag WHERE cluster_id = @ClusterId AND etag = @Expected",
            new { ClusterId, Version = (long)next.Version, NewEtag = NewEtag(), Expected = next.VersionEtag }, transaction)) == 1;

    private async Task<MembershipTableData> ReadAsync(string? address)
    {
        await using var connection = await store.OpenConnectionAsync(CancellationToken.None);
        var version = await connection.QuerySingleOrDefaultAsync<VersionRow>(
            "SELECT version, etag FROM fleet_membership_versions WHERE cluster_id = @ClusterId", new { ClusterId });
        // Two statements rather than "@Address IS NULL OR …": PostgreSQL cannot type a parameter that is only ever null.
        var rows = address is null
            ? await connection.QueryAsync<MemberRow>(
                "SELECT entry, etag, i_am_alive_ms FROM fleet_membership WHERE cluster_id = @ClusterId", new { ClusterId })
            : await connection.QueryAsync<MemberRow>(
                "SELECT entry, etag, i_am_alive_ms FROM fleet_membership WHERE cluster_id = @ClusterId AND address = @Address",
                new { ClusterId, Address = address });
        var members = rows.Select(r => Tuple.Create(ToEntry(r), r.Etag)).ToList();
        return new MembershipTableData(members, version is null ? new TableVersion(0, "") : new TableVersion((int)version.Version, version.Etag));
    }

    private object Row(MembershipEntry entry, string? expectedEtag) => new
    {
        ClusterId,
        Expected = expectedEtag,
        Address = entry.SiloAddress.ToParsableString(),
        Status = (long)entry.Status,
        Entry = JsonSerializer.Serialize(StoredEntry.From(entry)),
        Etag = NewEtag(),
        IAmAlive = new DateTimeOffset(DateTime.SpecifyKind(entry.IAmAliveTime, DateTimeKind.Utc)).ToUnixTimeMilliseconds(),
    };

    private static MembershipEntry ToEntry(MemberRow row)
    {
        var entry = JsonSerializer.Deserialize<StoredEntry>(row.Entry)!.ToEntry();
        entry.IAmAliveTime = DateTimeOffset.FromUnixTimeMilliseconds(row.IAmAliveMs).UtcDateTime;
        return entry;
    }

    private static string NewEtag() => Guid.NewGuid().ToString("N");

    private sealed class VersionRow
    {
        public long Version { get; set; }
        public string Etag { get; set; } = "";
    }

    private sealed class MemberRow
    {
        public string Entry { get; set; } = "";
        public string Etag { get; set; } = "";
        public long IAmAliveMs { get; set; }
    }

    private sealed record StoredSuspect(string Silo, long AtMs);

    private sealed record StoredEntry(
        string Silo, int Status, List<StoredSuspect> Suspects, int ProxyPort, string HostName, string SiloName,
        string? RoleName, int UpdateZone, int FaultZone, long StartMs)
    {
        public static StoredEntry From(MembershipEntry e) => new(
            e.SiloAddress.ToParsableString(), (int)e.Status,
            [.. (e.SuspectTimes ?? []).Select(s => new StoredSuspect(s.Item1.ToParsableString(), Ms(s.Item2)))],
            e.ProxyPort, e.HostName, e.SiloName, e.RoleName, e.UpdateZone, e.FaultZone, Ms(e.StartTime));

        public MembershipEntry ToEntry() => new()
        {
            SiloAddress = SiloAddress.FromParsableString(Silo),
            Status = (SiloStatus)Status,
            SuspectTimes = [.. Suspects.Select(s => Tuple.Create(SiloAddress.FromParsableString(s.Silo), DateTimeOffset.FromUnixTimeMilliseconds(s.AtMs).UtcDateTime))],
            ProxyPort = ProxyPort,
            HostName = HostName,
            SiloName = SiloName,
            RoleName = RoleName,
            UpdateZone = UpdateZone,
            FaultZone = FaultZone,
            StartTime = DateTimeOffset.FromUnixTimeMilliseconds(StartMs).UtcDateTime,
        };

        private static long Ms(DateTime time) => new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc)).ToUnixTimeMilliseconds();
    }
}
