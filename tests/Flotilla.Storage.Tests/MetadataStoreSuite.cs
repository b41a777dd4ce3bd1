using Dapper;
using Flotilla.Storage.Metadata;

namespace Flotilla.Storage.Tests;

public sealed class SqliteMetadataStoreTests(SqliteBackend backend) : MetadataStoreSuite(backend), IClassFixture<SqliteBackend>;

public sealed class PostgresMetadataStoreTests(PostgresBackend backend) : MetadataStoreSuite(backend), IClassFixture<PostgresBackend>;

/// <summary>The metadata store's contract, run once per backend.</summary>
public abstract class MetadataStoreSuite(IBackend backend)
{
    private static readonly Migration NotesV1 = new("notes", 1, "CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL)");
    private static readonly Migration NotesV2 = new("notes", 2, "ALTER TABLE notes ADD COLUMN stars BIGINT");
    private static readonly Migration CountersV1 = new("counters", 1, "CREATE TABLE counters (name TEXT PRIMARY KEY, n BIGINT NOT NULL)");

    [Fact]
    public async Task Migrations_are_applied_once_and_recorded_per_component()
    {
        var database = await backend.NewDatabaseAsync();
        await using (var first = backend.Open(database, [NotesV1, CountersV1]))
            await first.MigrateAsync(CancellationToken.None);
        // A second start over the same database finds everything applied; the non-idempotent DDL is not rerun.
        await using var second = backend.Open(database, [NotesV1, CountersV1]);
        await second.MigrateAsync(CancellationToken.None);
        await second.MigrateAsync(CancellationToken.None);

        await using var connection = await second.OpenConnectionAsync(CancellationToken.None);
        var applied = (await connection.QueryAsync<(string, long)>("SELECT component, version FROM schema_migrations ORDER BY component, version")).ToList();
        Assert.Equal([("counters", 1L), ("notes", 1L)], applied);
    }

    [Fact]
    public async Task A_new_version_is_applied_on_the_next_start_and_keeps_the_data()
    {
        var database = await backend.NewDatabaseAsync();
        await using (var v1 = backend.Open(database, [NotesV1]))
        {
            await using var connection = await v1.OpenConnectionAsync(CancellationToken.None);
            await connection.ExecuteAsync("INSERT INTO notes (id, body) VALUES ('a', 'kept')");
        }
        await using var v2 = backend.Open(database, [NotesV1, NotesV2]);
        await using var reopened = await v2.OpenConnectionAsync(CancellationToken.None);
        await reopened.ExecuteAsync("UPDATE notes SET stars = 5 WHERE id = 'a'");
        var row = await reopened.QuerySingleAsync<(string Body, long Stars)>("SELECT body, stars FROM notes");
        Assert.Equal(("kept", 5L), row);
    }

    [Fact]
    public async Task Processes_starting_at_once_apply_each_migration_exactly_once()
    {
        var database = await backend.NewDatabaseAsync();
        var stores = Enumerable.Range(0, 6).Select(_ => backend.Open(database, [NotesV1, NotesV2, CountersV1])).ToList();
        try
        {
            // CREATE TABLE without IF NOT EXISTS fails if two runs both apply it: the lock must serialise them.
            await Task.WhenAll(stores.Select(s => Task.Run(() => s.MigrateAsync(CancellationToken.None))));
            await using var connection = await stores[0].OpenConnectionAsync(CancellationToken.None);
            Assert.Equal(3L, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM schema_migrations"));
        }
        finally
        {
            foreach (var store in stores)
                await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_failing_migration_is_named_and_leaves_nothing_half_applied()
    {
        var database = await backend.NewDatabaseAsync();
        var broken = new Migration("notes", 2, "ALTER TABLE no_such_table ADD COLUMN x BIGINT");
        await using (var store = backend.Open(database, [NotesV1, broken]))
        {
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.MigrateAsync(CancellationToken.None));
            Assert.Contains("notes v2", error.Message);
        }
        // v1 ran in the same failed run and was rolled back with it: the fixed set applies cleanly from scratch.
        await using var fixedStore = backend.Open(database, [NotesV1, NotesV2]);
        await using var connection = await fixedStore.OpenConnectionAsync(CancellationToken.None);
        Assert.Equal(2L, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM schema_migrations WHERE component = 'notes'"));
    }

    [Fact]
    public void Registering_a_version_twice_is_refused_with_its_name()
    {
        var error = Assert.Throws<ArgumentException>(() => backend.Open("unused", [NotesV1, NotesV1 with { Sql = "SELECT 1" }]));
        Assert.Contains("notes v1", error.Message);
    }

    [Fact]
    public async Task Concurrent_increments_in_transactions_lose_no_update()
    {
        var database = await backend.NewDatabaseAsync();
        await using var a = backend.Open(database, [CountersV1]);
        await using var b = backend.Open(database, [CountersV1]);
        await a.InTransactionAsync((c, t, ct) => c.ExecuteAsync(new CommandDefinition(
            "INSERT INTO counters (name, n) VALUES ('x', 0)", transaction: t, cancellationToken: ct)), CancellationToken.None);

        var values = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() => (i % 2 == 0 ? a : b).InTransactionAsync(
            (c, t, ct) => c.ExecuteScalarAsync<long>(new CommandDefinition(
                "UPDATE counters SET n = n + 1 WHERE name = 'x' RETURNING n", transaction: t, cancellationToken: ct)),
            CancellationToken.None))));

        Assert.Equal(Enumerable.Range(1, 40).Select(i => (long)i), values.Order());
    }

    [Fact]
    public async Task A_transaction_that_throws_leaves_no_trace()
    {
        var database = await backend.NewDatabaseAsync();
        await using var store = backend.Open(database, [NotesV1]);
        await Assert.ThrowsAsync<TimeoutException>(() => store.InTransactionAsync(async (c, t, ct) =>
        {
            await c.ExecuteAsync(new CommandDefinition("INSERT INTO notes (id, body) VALUES ('a', 'lost')", transaction: t, cancellationToken: ct));
            throw new TimeoutException("the work failed after writing");
        }, CancellationToken.None));
        await using var connection = await store.OpenConnectionAsync(CancellationToken.None);
        Assert.Equal(0L, await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM notes"));
    }

    [Fact]
    public async Task The_portable_subset_round_trips_on_this_backend()
    {
        var database = await backend.NewDatabaseAsync();
        var table = new Migration("portable", 1, """
            CREATE TABLE IF NOT EXISTS portable (id TEXT PRIMARY KEY, big BIGINT, ratio DOUBLE PRECISION, label TEXT, at_ms BIGINT NOT NULL);
            CREATE INDEX IF NOT EXISTS portable_at ON portable (at_ms);
            """);
        await using var store = backend.Open(database, [table]);
        await using var connection = await store.OpenConnectionAsync(CancellationToken.None);
        const string upsert = """
            INSERT INTO portable (id, big, ratio, label, at_ms) VALUES (@Id, @Big, @Ratio, @Label, @AtMs)
            ON CONFLICT (id) DO UPDATE SET big = excluded.big, ratio = excluded.ratio, label = excluded.label
            RETURNING big
            """;
        await connection.ExecuteScalarAsync<long>(upsert, new { Id = "r", Big = 1L, Ratio = 0.5, Label = (string?)null, AtMs = 1L });
        var returned = await connection.ExecuteScalarAsync<long>(upsert, new { Id = "r", Big = long.MaxValue, Ratio = 1e-300, Label = "ünïcödé ✓", AtMs = 2L });

        var row = await connection.QuerySingleAsync<PortableRow>("SELECT id, big, ratio, label, at_ms FROM portable LIMIT 1 OFFSET 0");
        Assert.Equal(long.MaxValue, returned);
        Assert.Equal(("r", long.MaxValue, 1e-300, "ünïcödé ✓", 1L), (row.Id, row.Big, row.Ratio, row.Label, row.AtMs));
    }

    private sealed class PortableRow
    {
        public string Id { get; init; } = "";
        public long Big { get; init; }
        public double Ratio { get; init; }
        public string? Label { get; init; }
        public long AtMs { get; init; }
    }
}
