using System.Data;
using System.Data.Common;
using Dapper;
using Npgsql;

namespace Flotilla.Storage.Metadata;

/// <summary>The cluster backend: PostgreSQL through one pooled <see cref="NpgsqlDataSource"/>.</summary>
public sealed class PostgresMetadataStore : MetadataStore
{
    // Any constant works; it only has to be the same in every Flotilla process sharing the database.
    private const long MigrationLockKey = 0x466C6F74696C6C61; // "Flotilla"

    // A fenced write holds its execution's row lock until it commits, and a claim by another server waits for it. A
    // server stopped inside such a transaction (SIGSTOP, a stalled VM) would hold the lock, and so the execution, for as
    // long as it stays stopped: the fencing test's adoption once waited 60 s in vain. PostgreSQL ends a session left idle
    // inside a transaction this long, which rolls the transaction back and frees the row. Flotilla's transactions run
    // their statements back to back, in milliseconds.
    private const int StalledTransactionMilliseconds = 5_000;

    private readonly NpgsqlDataSource _dataSource;

    public PostgresMetadataStore(string connectionString, IEnumerable<Migration> migrations, TimeProvider? timeProvider = null)
        : base(migrations, timeProvider)
    {
        try
        {
            var settings = new NpgsqlConnectionStringBuilder(connectionString);
            settings.Options = $"{settings.Options} -c idle_in_transaction_session_timeout={StalledTransactionMilliseconds}".Trim();
            _dataSource = NpgsqlDataSource.Create(settings);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"The PostgreSQL connection string is not valid: {e.Message} Expected the form Host=...;Port=5432;Database=...;Username=...;Password=...", nameof(connectionString), e);
        }
    }

    public override MetadataBackend Backend => MetadataBackend.Postgres;

    public NpgsqlDataSource DataSource => _dataSource;

    protected override async ValueTask<DbConnection> OpenRawConnectionAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken);

    protected override async ValueTask<DbTransaction> BeginWriteTransactionAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await ((NpgsqlConnection)connection).BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);

    protected override Task AcquireMigrationLockAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_xact_lock(@Key)", new { Key = MigrationLockKey }, transaction, cancellationToken: cancellationToken));

    public override ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
