using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Flotilla.Fleet.Autoscaling;

/// <summary>What a child server needs to join this server's cluster.</summary>
/// <remarks>
/// The data directory is the parent's: without an S3 bucket the artifact store is a folder there, and every
/// instance must read the same artifacts (as the servers of the cluster shape do).
/// </remarks>
public sealed record ClusterJoin(string PostgresConnectionString, string DataDirectory, string? AdvertisedAddress);

/// <summary>
/// Scales by starting and stopping child <c>flotilla server</c> processes on this machine, each joining the
/// same cluster (same PostgreSQL database and cluster id, free ports of its own). Scaling in stops the newest
/// children first; only children this scaler started are ever stopped. Settings travel as environment
/// variables so the connection string does not show in the process list.
/// </summary>
public sealed partial class LocalProcessScaler(
    ClusterJoin join, IOptions<FleetOptions> fleet, IOptions<AutoscalerOptions> options, ILogger<LocalProcessScaler> logger)
    : IInstanceScaler, IAsyncDisposable
{
    private static readonly TimeSpan GracefulStop = TimeSpan.FromSeconds(30);
    private readonly List<Process> _children = [];
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Child processes started and still running, oldest first.</summary>
    public IReadOnlyList<int> ChildProcessIds
    {
        get
        {
            lock (_children)
            {
                return [.. _children.Where(c => !c.HasExited).Select(c => c.Id)];
            }
        }
    }

    public async Task ScaleAsync(int current, int desired, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            lock (_children)
            {
                _children.RemoveAll(c => c.HasExited);
            }
            for (var i = current; i < desired; i++)
            {
                Start();
            }
            for (var i = desired; i < current; i++)
            {
                Process? newest;
                lock (_children)
                {
                    newest = _children.LastOrDefault();
                    if (newest is not null)
                    {
                        _children.Remove(newest);
                    }
                }
                if (newest is null)
                {
                    LogNothingToStop(current - i);
                    break;
                }
                await StopAsync(newest, cancellationToken);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private void Start()
    {
        var (command, prefix) = Launcher();
        var port = FreePort();
        var dataDirectory = join.DataDirectory;
        var start = new ProcessStartInfo(command)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in prefix)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var arg in (string[])["server", "--urls", $"http://127.0.0.1:{port}"])
        {
            start.ArgumentList.Add(arg);
        }
        var f = fleet.Value;
        // Environment rather than arguments: the connection string holds a password.
        start.Environment["Flotilla__Shape"] = "Cluster";
        start.Environment["Flotilla__PostgresConnectionString"] = join.PostgresConnectionString;
        start.Environment["Flotilla__DataDirectory"] = dataDirectory;
        start.Environment["Flotilla__Fleet__ClusterId"] = f.ClusterId;
        start.Environment["Flotilla__Fleet__ServiceId"] = f.ServiceId;
        start.Environment["Flotilla__Fleet__SiloPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["Flotilla__Fleet__GatewayPort"] = "0";
        if (join.AdvertisedAddress is { } advertised)
        {
            start.Environment["Flotilla__Fleet__AdvertisedAddress"] = advertised;
        }
        // A child never scales the fleet itself: one autoscaler per fleet.
        start.Environment["Flotilla__Fleet__Autoscaler__Enabled"] = "false";
        var process = Process.Start(start)
            ?? throw new InvalidOperationException($"Starting '{command}' for a new instance returned no process; check {AutoscalerOptions.Section}:Command.");
        // Drain the child's output so a full pipe never blocks it; its log is its own concern.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        lock (_children)
        {
            _children.Add(process);
        }
        LogStarted(process.Id, port);
    }

    private (string Command, string[] Prefix) Launcher()
    {
        if (options.Value.Command is { Length: > 0 } command)
        {
            return (command, []);
        }
        var dll = Path.Combine(AppContext.BaseDirectory, "flotilla.dll");
        return File.Exists(dll)
            ? ("dotnet", [dll])
            : throw new InvalidOperationException(
                $"Cannot start another instance: {dll} is not next to the running server. Set {AutoscalerOptions.Section}:Command to the flotilla CLI (e.g. 'flotilla').");
    }

    private async Task StopAsync(Process child, CancellationToken cancellationToken)
    {
        var id = child.Id;
        try
        {
            // SIGTERM lets the child leave the cluster cleanly (Orleans announces its shutdown); kill if it hangs.
            if (!OperatingSystem.IsWindows())
            {
                using var term = Process.Start(new ProcessStartInfo("kill", ["-TERM", id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false });
                if (term is not null)
                {
                    await term.WaitForExitAsync(cancellationToken);
                }
            }
            else
            {
                child.Kill(entireProcessTree: true);
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(GracefulStop);
            try
            {
                await child.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                child.Kill(entireProcessTree: true);
                await child.WaitForExitAsync(CancellationToken.None);
            }
            LogStopped(id);
        }
        finally
        {
            child.Dispose();
        }
    }

    /// <summary>Children do not outlive the server that started them.</summary>
    public async ValueTask DisposeAsync()
    {
        List<Process> children;
        lock (_children)
        {
            children = [.. _children];
            _children.Clear();
        }
        foreach (var child in children.AsEnumerable().Reverse())
        {
            if (!child.HasExited)
            {
                await StopAsync(child, CancellationToken.None);
            }
            else
            {
                child.Dispose();
            }
        }
        _gate.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Autoscaler started instance process {ProcessId} (HTTP port {Port})")]
    private partial void LogStarted(int processId, int port);

    [LoggerMessage(Level = LogLevel.Information, Message = "Autoscaler stopped instance process {ProcessId}")]
    private partial void LogStopped(int processId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Autoscaler wanted {Remaining} fewer instances but started none of those left; it only stops processes it started")]
    private partial void LogNothingToStop(int remaining);
}
