using Flotilla.Storage.Metadata;
using Flotilla.Testing;

namespace Flotilla.Storage.Tests;

/// <summary>
/// A metadata backend the shared suites run against. A "database" is a location that several stores can open,
/// in turn or at once, as separate processes would.
/// </summary>
public interface IBackend
{
    Task<string> NewDatabaseAsync();

    MetadataStore Open(string database, IEnumerable<Migration> migrations, TimeProvider? timeProvider = null);
}

/// <summary>One SQLite file per database, in a temporary folder removed with the fixture.</summary>
public sealed class SqliteBackend : IBackend, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("flotilla-sqlite-").FullName;

    public Task<string> NewDatabaseAsync() => Task.FromResult(Path.Combine(_directory, $"{Guid.NewGuid():N}.db"));

    public MetadataStore Open(string database, IEnumerable<Migration> migrations, TimeProvider? timeProvider = null) =>
        new SqliteMetadataStore(database, migrations, timeProvider);

    public void Dispose()
    {
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}

/// <summary>One PostgreSQL database per database, on the server the test run started.</summary>
public sealed class PostgresBackend : IBackend
{
    public async Task<string> NewDatabaseAsync() => await (await PostgresServer.GetSharedAsync()).CreateDatabaseAsync("store");

    public MetadataStore Open(string database, IEnumerable<Migration> migrations, TimeProvider? timeProvider = null) =>
        new PostgresMetadataStore(database, migrations, timeProvider);
}
