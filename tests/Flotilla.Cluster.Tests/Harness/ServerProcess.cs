using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using Flotilla.Testing;

namespace Flotilla.Cluster.Tests.Harness;

/// <summary>
/// One `flotilla server` (the built CLI, cluster shape) on a harness <see cref="Machine"/>: inside the machine's
/// network namespace and a mount namespace of its own, where its data folder is a fresh tmpfs no other process
/// sees — no shared disk, and a restarted server starts with an empty one, as a replaced machine would. The
/// process is also in a cgroup of its own (<see cref="Cpu"/>). Its pid is the server's own (ip netns exec,
/// unshare and sh each exec the next), so signals reach the server itself.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    public const int HttpPort = 8080;
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServerProcess(Machine machine, Process process, string dataDirectory, CpuQuota cpu)
    {
        Machine = machine;
        _process = process;
        DataDirectory = dataDirectory;
        Cpu = cpu;
        Address = new Uri($"http://{machine.Address}:{HttpPort}");
    }

    public Machine Machine { get; }

    public Uri Address { get; }

    /// <summary>The data folder as the server sees it (a tmpfs in its own mount namespace).</summary>
    public string DataDirectory { get; }

    public CpuQuota Cpu { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts the server; <paramref name="settings"/> are configuration arguments (<c>--Flotilla:Shape=Cluster</c>…).</summary>
    public static ServerProcess Start(Machine machine, string dataDirectory, CpuQuota cpu, IEnumerable<string> settings)
    {
        Directory.CreateDirectory(dataDirectory);
        var start = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string[] command =
        [
            "netns", "exec", machine.Namespace,
            "unshare", "--mount", "--propagation", "private",
            "sh", "-c", "mount -t tmpfs -o size=1g,mode=0700 flotilla \"$0\" && exec \"$@\"", dataDirectory,
            "dotnet", FlotillaCliBinary.Path, "server", "--data", dataDirectory, "--urls", $"http://{machine.Address}:{HttpPort}", "--",
        ];
        foreach (var argument in command.Concat(settings))
        {
            start.ArgumentList.Add(argument);
        }
        // Child processes inherit the test host's logging settings otherwise; keep the servers' own defaults.
        start.Environment.Remove("DOTNET_ENVIRONMENT");
        start.Environment.Remove("ASPNETCORE_ENVIRONMENT");
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start `ip netns exec` for a server.");
        cpu.Add(process.Id);
        var server = new ServerProcess(machine, process, dataDirectory, cpu);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Waits until <c>/healthz</c> answers, failing with the server's output if it exits or takes over 2 minutes.</summary>
    public async Task WaitHealthyAsync()
    {
        using var probe = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(5) };
        var watch = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"Server {Machine.Name} exited with {_process.ExitCode} before it was healthy:\n{Output}");
            }
            try
            {
                if ((await probe.GetAsync("/healthz")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }
            if (watch.Elapsed > TimeSpan.FromMinutes(2))
            {
                throw new TimeoutException($"Server {Machine.Name} did not answer /healthz within 2 minutes:\n{Output}");
            }
            await Task.Delay(100);
        }
    }

    /// <summary>The admin key the first server of a deployment wrote into its (private) data folder, read through /proc.</summary>
    public string? ReadAdminKey()
    {
        var path = $"/proc/{Pid}/root{DataDirectory}/admin.key";
        return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
    }

    /// <summary>An HTTP client for this server with the given bearer key.</summary>
    public HttpClient Client(string key, TimeSpan? timeout = null)
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = timeout ?? TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>SIGKILL: no shutdown code runs, like a power cut.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGSTOP: the process freezes mid-instruction (a stalled VM, a long GC pause); <see cref="ResumeAsync"/> thaws it.</summary>
    public Task PauseAsync() => Shell.RunAsync("kill", "-STOP", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public Task ResumeAsync() => Shell.RunAsync("kill", "-CONT", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        // SIGKILL reaches a paused process too.
        await KillAsync();
        _process.Dispose();
    }
}
