using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Flotilla.Testing;

/// <summary>
/// A throwaway PostgreSQL server for one test run: <c>initdb</c> into a temporary folder, <c>pg_ctl start</c> on a
/// free loopback port with fsync off, stopped and deleted when the test process exits. Tests get isolation by
/// asking for a database of their own (<see cref="CreateDatabaseAsync"/>). Link this file into a test project
/// with <c>&lt;Compile Include="../Shared/PostgresServer.cs" /&gt;</c>.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private static readonly Lazy<Task<PostgresServer>> Shared = new(() => StartAsync(CancellationToken.None));
    private readonly string _binaries;
    private readonly string _directory;
    private int _stopped;

    private PostgresServer(string binaries, string directory, string host, int port)
    {
        _binaries = binaries;
        _directory = directory;
        Host = host;
        Port = port;
    }

    /// <summary>The address it listens on: loopback, or a bridge address other network namespaces reach.</summary>
    public string Host { get; }

    public int Port { get; }

    /// <summary>The connection string of the server's <c>postgres</c> database, as the superuser.</summary>
    public string AdminConnectionString => ConnectionString("postgres");

    /// <summary>The server shared by every test of this process, started on first use.</summary>
    public static Task<PostgresServer> GetSharedAsync() => Shared.Value;

    public string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = Host,
        Port = Port,
        Username = "postgres",
        Database = database,
        // Each test database gets its own pool; keep them small so many fixtures fit under max_connections.
        MaxPoolSize = 40,
        Timeout = 30,
    }.ConnectionString;

    /// <summary>Creates an empty database with a unique name and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "test", CancellationToken cancellationToken = default)
    {
        var name = $"{new string([.. prefix.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit)])}_{Guid.NewGuid():N}";
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return ConnectionString(name);
    }

    public static async Task<PostgresServer> StartAsync(CancellationToken cancellationToken, string host = "127.0.0.1")
    {
        var binaries = FindBinaries();
        var directory = Directory.CreateTempSubdirectory("flotilla-pg-").FullName;
        // The server refuses to run as root; as root, everything runs as the postgres user the package created.
        var asRoot = Environment.IsPrivilegedProcess;
        if (asRoot)
            await RunAsync("chown", ["postgres:postgres", directory], asRoot: false, cancellationToken);
        var data = Path.Combine(directory, "data");
        await RunAsync(Path.Combine(binaries, "initdb"),
            ["-D", data, "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "--auth-local=trust", "--auth-host=trust", "--no-sync"],
            asRoot, cancellationToken);
        if (host != "127.0.0.1")
        {
            // initdb admits loopback only; clients on the bridge's subnet (other network namespaces) too.
            await File.AppendAllTextAsync(Path.Combine(data, "pg_hba.conf"), "host all all samenet trust\n", cancellationToken);
        }
        var port = FreePort();
        await RunAsync(Path.Combine(binaries, "pg_ctl"),
            ["-D", data, "-w", "-t", "60", "-l", Path.Combine(directory, "server.log"), "-o",
             $"-p {port} -k {directory} -c listen_addresses={host} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400",
             "start"],
            asRoot, cancellationToken);
        var server = new PostgresServer(binaries, directory, host, port);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Stop();
        return server;
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        return ValueTask.CompletedTask;
    }

    private void Stop()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
            return;
        // One shell does both steps so the folder is removed even if the test host is torn down while it waits.
        var pgCtl = Path.Combine(_binaries, "pg_ctl");
        var runAs = Environment.IsPrivilegedProcess ? "runuser -u postgres -- " : "";
        var script = $"{runAs}'{pgCtl}' -D '{Path.Combine(_directory, "data")}' -m fast -w stop >/dev/null 2>&1; rm -rf '{_directory}'";
        using var process = Process.Start(new ProcessStartInfo("sh", ["-c", script]) { UseShellExecute = false })!;
        process.WaitForExit(TimeSpan.FromSeconds(30));
    }

    private static string FindBinaries()
    {
        const string root = "/usr/lib/postgresql";
        var found = Directory.Exists(root)
            ? Directory.GetDirectories(root)
                .Where(d => File.Exists(Path.Combine(d, "bin", "initdb")) && File.Exists(Path.Combine(d, "bin", "pg_ctl")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var v) ? v : 0)
                .FirstOrDefault()
            : null;
        return found is null
            ? throw new InvalidOperationException(
                $"The PostgreSQL tests need the server binaries (initdb, pg_ctl) under {root}/<version>/bin and found none. " +
                "Install them with `apt-get install postgresql` (.ci/run does this); the tests start their own throwaway server from them.")
            : Path.Combine(found, "bin");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static ProcessStartInfo Command(string file, IEnumerable<string> arguments, bool asRoot)
    {
        var start = new ProcessStartInfo(asRoot ? "runuser" : file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asRoot)
        {
            foreach (var a in new[] { "-u", "postgres", "--", file })
                start.ArgumentList.Add(a);
        }
        foreach (var a in arguments)
            start.ArgumentList.Add(a);
        return start;
    }

    private static async Task RunAsync(string file, IEnumerable<string> arguments, bool asRoot, CancellationToken cancellationToken)
    {
        var start = Command(file, arguments, asRoot);
        using var process = Process.Start(start)
            ?? throw new InvalidOperationException($"Could not start {file}.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
            throw new InvalidOperationException(
                $"Starting the test PostgreSQL server failed: `{start.FileName} {string.Join(' ', start.ArgumentList)}` exited with {process.ExitCode}.\n{await output}\n{await error}");
    }
}
