using System.Diagnostics;
using Dapper;
using Flotilla.Storage.Metadata;

namespace Flotilla.Storage.Tests;

/// <summary>PostgreSQL only: a server stopped inside a write transaction must not hold its row locks for good.</summary>
public sealed class PostgresStalledTransactionTests(PostgresBackend backend) : IClassFixture<PostgresBackend>
{
    private static readonly Migration Rows = new("rows", 1, "CREATE TABLE rows (id TEXT PRIMARY KEY, n BIGINT NOT NULL)");

    [Fact]
    public async Task A_transaction_left_idle_gives_its_row_locks_up_within_seconds()
    {
        var database = await backend.NewDatabaseAsync();
        await using var store = backend.Open(database, [Rows]);
        await store.MigrateAsync(CancellationToken.None);
        await using (var setup = await store.OpenConnectionAsync(CancellationToken.None))
        {
            await setup.ExecuteAsync("INSERT INTO rows VALUES ('a', 0)");
        }

        // The stopped server: its transaction locked the row, then sent nothing more.
        await using var stalled = await store.OpenConnectionAsync(CancellationToken.None);
        await using var transaction = await stalled.BeginTransactionAsync();
        await stalled.ExecuteAsync("UPDATE rows SET n = 1 WHERE id = 'a'", transaction: transaction);

        var clock = Stopwatch.StartNew();
        await using var other = await store.OpenConnectionAsync(CancellationToken.None);
        // Without the session limit this waits for the stalled transaction until the command times out (30 s).
        var updated = await other.ExecuteAsync(new CommandDefinition("UPDATE rows SET n = 2 WHERE id = 'a'", commandTimeout: 30));
        var waited = clock.Elapsed;

        Assert.Equal(1, updated);
        Assert.InRange(waited, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(20));
        Assert.Equal(2L, await other.ExecuteScalarAsync<long>("SELECT n FROM rows WHERE id = 'a'"));
    }
}
