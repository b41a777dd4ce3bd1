using System.Data.Common;
using Dapper;

namespace Flotilla.Storage.Metadata;

public enum MetadataBackend { Sqlite, Postgres }

/// <summary>
/// The metadata database: SQLite (embedded, the default) or PostgreSQL (cluster). Components write their SQL
/// once and it runs on both, so it keeps to this portable subset:
/// <list type="bullet">
/// <item>Types: <c>TEXT</c>, <c>BIGINT</c> (every integer; read it as C# <c>long</c> — SQLite has only 64-bit
/// integers), <c>DOUBLE PRECISION</c>. No BOOLEAN (use BIGINT 0/1), no SERIAL/AUTOINCREMENT (ids are TEXT made in
/// code, e.g. <c>Guid.CreateVersion7().ToString("N")</c>), no JSONB (JSON is TEXT, parsed in code).</item>
/// <item>Times: <c>BIGINT</c> unix milliseconds UTC, columns named <c>*_ms</c>, taken from the injected
/// <see cref="TimeProvider"/> — never NOW() or datetime() in SQL.</item>
/// <item>Identifiers: lower-case snake_case, unquoted. Dapper maps snake_case columns to PascalCase members
/// (this class turns on <c>DefaultTypeMap.MatchNamesWithUnderscores</c>); prefer row classes with settable
/// properties over positional records.</item>
/// <item>Statements: <c>@name</c> parameters; <c>INSERT … ON CONFLICT (…) DO NOTHING | DO UPDATE SET x = excluded.x</c>;
/// <c>UPDATE/INSERT/DELETE … RETURNING</c>; <c>LIMIT/OFFSET</c>; <c>CREATE TABLE/INDEX IF NOT EXISTS</c>.
/// No <c>SELECT … FOR UPDATE</c> (SQLite lacks it): guard concurrent changes with a conditional
/// <c>UPDATE … WHERE status = @expected</c> and check the affected row count, or with
/// <c>UPDATE … SET n = n + 1 … RETURNING n</c>, which locks the row on PostgreSQL.</item>
/// </list>
/// Transactions from <see cref="InTransactionAsync{T}"/> are write transactions: SQLite takes its write lock
/// at BEGIN (BEGIN IMMEDIATE, so two writers never deadlock on a lock upgrade) and PostgreSQL runs READ COMMITTED.
/// </summary>
public abstract class MetadataStore : IAsyncDisposable
{
    private readonly Migration[] _migrations;
    private readonly Lock _migrateLock = new();
    private readonly TimeProvider _timeProvider;
    private Task? _migrated;

    static MetadataStore() => DefaultTypeMap.MatchNamesWithUnderscores = true;

    protected MetadataStore(IEnumerable<Migration> migrations, TimeProvider? timeProvider)
    {
        _timeProvider = timeProvider ?? TimeProvider.System;
        _migrations = [.. migrations];
        MigrationPlan.Validate(_migrations);
    }

    public abstract MetadataBackend Backend { get; }

    /// <summary>An open connection, after the schema is migrated. Dispose it to return it to the pool.</summary>
    public async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        await MigrateAsync(cancellationToken);
        return await OpenRawConnectionAsync(cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="work"/> in one write transaction and commits it; rolls back if it throws. On SQLite,
    /// transactions of this process queue here asynchronously for the single write lock instead of blocking
    /// thread-pool threads in SQLite's busy handler.
    /// </summary>
    public async Task<T> InTransactionAsync<T>(
        Func<DbConnection, DbTransaction, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken);
        var gate = WriteGate;
        if (gate is not null)
            await gate.WaitAsync(cancellationToken);
        try
        {
            await using var transaction = await BeginWriteTransactionAsync(connection, cancellationToken);
            var result = await work(connection, transaction, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return result;
        }
        finally
        {
            gate?.Release();
        }
    }

    public Task InTransactionAsync(
        Func<DbConnection, DbTransaction, CancellationToken, Task> work, CancellationToken cancellationToken) =>
        InTransactionAsync<bool>(async (c, t, ct) => { await work(c, t, ct); return true; }, cancellationToken);

    /// <summary>
    /// Applies the migrations not yet recorded, once per store (later calls await the same work). Safe when
    /// several processes start at once: the whole run holds the database-wide migration lock.
    /// </summary>
    public Task MigrateAsync(CancellationToken cancellationToken)
    {
        Task migrated;
        lock (_migrateLock)
        {
            // A failed or cancelled run is retried by the next caller rather than cached forever.
            if (_migrated is null || _migrated.IsFaulted || _migrated.IsCanceled)
                _migrated = MigrateCoreAsync(CancellationToken.None);
            migrated = _migrated;
        }
        return migrated.WaitAsync(cancellationToken);
    }

    private async Task MigrateCoreAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenRawConnectionAsync(cancellationToken);
        await using var transaction = await BeginWriteTransactionAsync(connection, cancellationToken);
        await AcquireMigrationLockAsync(connection, transaction, cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                component TEXT NOT NULL,
                version BIGINT NOT NULL,
                applied_ms BIGINT NOT NULL,
                PRIMARY KEY (component, version))
            """, transaction: transaction, cancellationToken: cancellationToken));
        var applied = (await connection.QueryAsync<(string Component, long Version)>(new CommandDefinition(
            "SELECT component, version FROM schema_migrations", transaction: transaction, cancellationToken: cancellationToken)))
            .ToHashSet();
        foreach (var migration in MigrationPlan.Order(_migrations))
        {
            if (applied.Contains((migration.Component, migration.Version)))
                continue;
            try
            {
                await connection.ExecuteAsync(new CommandDefinition(migration.Sql, transaction: transaction, cancellationToken: cancellationToken));
            }
            catch (DbException e)
            {
                throw new InvalidOperationException(
                    $"Migration {migration.Component} v{migration.Version} failed on {Backend}: {e.Message}. " +
                    "Fix its SQL (it must keep to the portable subset documented on MetadataStore); nothing of this run was applied.", e);
            }
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO schema_migrations (component, version, applied_ms) VALUES (@Component, @Version, @AppliedMs)",
                new { migration.Component, Version = (long)migration.Version, AppliedMs = _timeProvider.GetUtcNow().ToUnixTimeMilliseconds() },
                transaction, cancellationToken: cancellationToken));
        }
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>Serialises this process's write transactions when the database allows only one writer at a time.</summary>
    protected virtual SemaphoreSlim? WriteGate => null;

    protected abstract ValueTask<DbConnection> OpenRawConnectionAsync(CancellationToken cancellationToken);

    protected abstract ValueTask<DbTransaction> BeginWriteTransactionAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>Serialises migration runs across processes for the rest of <paramref name="transaction"/>.</summary>
    protected abstract Task AcquireMigrationLockAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();
}

internal static class MigrationPlan
{
    public static void Validate(IReadOnlyList<Migration> migrations)
    {
        foreach (var m in migrations)
        {
            if (string.IsNullOrWhiteSpace(m.Component))
                throw new ArgumentException($"A migration (v{m.Version}) has no component name; give every migration the name of the component that owns its tables.");
            if (m.Version < 1)
                throw new ArgumentException($"Migration {m.Component} v{m.Version}: versions start at 1.");
        }
        var duplicate = migrations.GroupBy(m => (m.Component, m.Version)).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"Migration {duplicate.Key.Component} v{duplicate.Key.Version} is registered {duplicate.Count()} times; each version of a component must be registered once.");
    }

    /// <summary>Components in the order they were registered, each component's versions ascending.</summary>
    public static IEnumerable<Migration> Order(IReadOnlyList<Migration> migrations) =>
        migrations.Select((m, i) => (m, i))
            .GroupBy(x => x.m.Component)
            .OrderBy(g => g.Min(x => x.i))
            .SelectMany(g => g.Select(x => x.m).OrderBy(m => m.Version));
}
