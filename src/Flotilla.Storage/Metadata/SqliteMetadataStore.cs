using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Flotilla.Storage.Metadata;

/// <summary>
/// The embedded backend: one SQLite file in WAL mode (readers never block the writer), foreign keys on, and a
/// busy timeout so concurrent writers queue instead of failing with SQLITE_BUSY.
/// </summary>
public sealed class SqliteMetadataStore : MetadataStore
{
    private static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(30);
    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private int _walSet;

    public SqliteMetadataStore(string path, IEnumerable<Migration> migrations, TimeProvider? timeProvider = null)
        : base(migrations, timeProvider)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            ForeignKeys = true,
            Pooling = true,
            DefaultTimeout = (int)BusyTimeout.TotalSeconds,
        }.ToString();
    }

    public string Path { get; }

    public override MetadataBackend Backend => MetadataBackend.Sqlite;

    protected override SemaphoreSlim WriteGate => _writeGate;

    protected override async ValueTask<DbConnection> OpenRawConnectionAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            // journal_mode is stored in the file; set it once per store. The others are per connection.
            command.CommandText = Interlocked.Exchange(ref _walSet, 1) == 0
                ? $"PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = {(int)BusyTimeout.TotalMilliseconds};"
                : $"PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = {(int)BusyTimeout.TotalMilliseconds};";
            await command.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    protected override async ValueTask<DbTransaction> BeginWriteTransactionAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        // deferred: false is BEGIN IMMEDIATE: the write lock is taken now, so a read-then-write transaction can
        // never fail half-way with SQLITE_BUSY because another writer got in between.
        cancellationToken.ThrowIfCancellationRequested();
        return await Task.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));
    }

    // BEGIN IMMEDIATE already holds the database's single write lock.
    protected override Task AcquireMigrationLockAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    public override ValueTask DisposeAsync()
    {
        // Pooled connections keep the file (and its -wal/-shm) open; release them so the folder can be deleted.
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        _writeGate.Dispose();
        return ValueTask.CompletedTask;
    }
}
