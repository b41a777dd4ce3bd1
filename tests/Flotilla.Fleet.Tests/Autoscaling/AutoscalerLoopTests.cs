using Flotilla.Fleet.Autoscaling;
using Flotilla.Fleet.Observability;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Flotilla.Fleet.Tests.Autoscaling;

/// <summary>
/// The autoscaler's loop end to end with real parts: silos' <see cref="FleetMetrics"/> counters, the policy, and
/// a <see cref="LocalProcessScaler"/> that starts and stops real child processes. The child is a short shell
/// script standing in for <c>flotilla server</c> (a real server takes too long to start for a unit suite).
/// </summary>
public sealed class AutoscalerLoopTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private readonly Dictionary<string, FleetMetrics> _silos = new(StringComparer.Ordinal) { ["silo-a"] = new FleetMetrics() };
    private readonly string _folder = Directory.CreateTempSubdirectory("flotilla-autoscaler-").FullName;
    private LocalProcessScaler _scaler = null!;

    public Task InitializeAsync()
    {
        var script = Path.Combine(_folder, "fake-server.sh");
        // exec: the shell becomes sleep, so the scaler's SIGTERM reaches the process it started.
        File.WriteAllText(script, "#!/bin/sh\nexec sleep 120\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        _scaler = new LocalProcessScaler(
            new ClusterJoin("Host=127.0.0.1;Database=unused", _folder, "127.0.0.1"),
            Microsoft.Extensions.Options.Options.Create(new FleetOptions()),
            Microsoft.Extensions.Options.Options.Create(new AutoscalerOptions { Command = script }),
            NullLogger<LocalProcessScaler>.Instance);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _scaler.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task A_burst_of_invocations_starts_instances_and_a_lasting_lull_stops_the_newest_ones_down_to_the_minimum()
    {
        var options = new AutoscalerOptions
        {
            Enabled = true,
            TargetInvocationsPerInstancePerSecond = 10,
            MinInstances = 2,
            MaxInstances = 4,
            Interval = TimeSpan.FromSeconds(1),
            ScaleInStabilisationWindow = TimeSpan.FromSeconds(5),
        };
        var status = new AutoscalerStatus();
        var autoscaler = new Autoscaler(
            _ => Task.FromResult<IReadOnlyDictionary<string, long>>(
                _silos.ToDictionary(s => s.Key, s => s.Value.Snapshot().Sum(m => m.Invocations), StringComparer.Ordinal)),
            _scaler, status, Microsoft.Extensions.Options.Options.Create(options), _time, NullLogger<Autoscaler>.Instance);

        await autoscaler.SampleAsync(CancellationToken.None);
        Serve("silo-a", 35);
        _time.Advance(options.Interval);
        await autoscaler.SampleAsync(CancellationToken.None);

        Assert.Equal(4, status.Last!.Desired);
        var started = _scaler.ChildProcessIds;
        Assert.Equal(3, started.Count);

        // The children join; the burst is over.
        _silos["silo-b"] = new FleetMetrics();
        _silos["silo-c"] = new FleetMetrics();
        _silos["silo-d"] = new FleetMetrics();
        for (var second = 1; second < 5; second++)
        {
            _time.Advance(options.Interval);
            await autoscaler.SampleAsync(CancellationToken.None);
            Assert.Equal(4, status.Last.Desired);
            Assert.Equal(started, _scaler.ChildProcessIds);
        }
        _time.Advance(options.Interval);
        await autoscaler.SampleAsync(CancellationToken.None);

        Assert.Equal(2, status.Last.Desired);
        Assert.Equal([started[0]], _scaler.ChildProcessIds);
    }

    private void Serve(string silo, int invocations)
    {
        for (var i = 0; i < invocations; i++)
        {
            _silos[silo].For("model").Served(elapsedTicks: 10);
        }
    }
}
