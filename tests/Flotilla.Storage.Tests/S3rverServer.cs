using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Flotilla.Storage.Tests;

/// <summary>
/// An S3-compatible server on loopback for one test class: the npm package s3rver, installed on first use into a
/// cache folder shared by test runs, run under <c>node --openssl-legacy-provider</c> (its paged listings fail
/// otherwise) with one bucket, <see cref="Bucket"/>. Credentials are s3rver's fixed S3RVER/S3RVER.
/// </summary>
public sealed class S3rverServer : IAsyncLifetime
{
    public const string Bucket = "flotilla";
    private const string Version = "3.7.1";
    private static readonly string InstallDirectory = Path.Combine(Path.GetTempPath(), $"flotilla-s3rver-{Version}");
    private readonly string _data = Directory.CreateTempSubdirectory("flotilla-s3-").FullName;
    private Process? _process;

    public string ServiceUrl { get; private set; } = "";

    /// <summary>The address it listens on: loopback, or a bridge address other network namespaces reach.</summary>
    public string Address { get; init; } = "127.0.0.1";

    public async Task InitializeAsync()
    {
        var script = await InstallAsync();
        var port = FreePort();
        var start = new ProcessStartInfo("node")
        {
            ArgumentList = { "--openssl-legacy-provider", script, "-d", _data, "-a", Address, "-p", port.ToString(), "--silent", "--configure-bucket", Bucket },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException("Could not start node for s3rver.");
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        ServiceUrl = $"http://{Address}:{port}";
        await WaitUntilListeningAsync(port);
    }

    public Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(TimeSpan.FromSeconds(10));
        }
        _process?.Dispose();
        try { Directory.Delete(_data, recursive: true); } catch (IOException) { }
        return Task.CompletedTask;
    }

    private static async Task<string> InstallAsync()
    {
        var script = Path.Combine(InstallDirectory, "node_modules", "s3rver", "bin", "s3rver.js");
        if (File.Exists(script))
            return script;
        Directory.CreateDirectory(InstallDirectory);
        // Test processes may install at once; the lock file makes the second wait for the first.
        await using var installLock = await LockAsync(Path.Combine(InstallDirectory, ".install.lock"));
        if (File.Exists(script))
            return script;
        var npm = new ProcessStartInfo("npm")
        {
            ArgumentList = { "install", "--prefix", InstallDirectory, "--no-audit", "--no-fund", "--no-save", $"s3rver@{Version}" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(npm) ?? throw new InvalidOperationException("npm is needed for the S3 tests: apt-get install npm.");
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 && File.Exists(script)
            ? script
            : throw new InvalidOperationException($"`npm install s3rver@{Version}` into {InstallDirectory} failed (exit {process.ExitCode}); the S3 tests need it.\n{await error}");
    }

    private static async Task<FileStream> LockAsync(string path)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException)
            {
                await Task.Delay(200, deadline.Token);
            }
        }
    }

    private async Task WaitUntilListeningAsync(int port)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            if (_process!.HasExited)
                throw new InvalidOperationException($"s3rver exited with {_process.ExitCode} before listening on port {port}.");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Parse(Address), port, deadline.Token);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(100, deadline.Token);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
