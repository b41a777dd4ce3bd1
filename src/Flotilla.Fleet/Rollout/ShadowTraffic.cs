using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Flotilla.Fleet.Aliases;
using Flotilla.Fleet.Models;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Flotilla.Fleet.Rollout;

/// <summary>
/// Shadow traffic of this process. A front door offers a copy of a call it has already answered; the copy waits
/// in a bounded queue and one background worker scores it with the shadow version and compares the answers. A
/// full queue drops the copy (counted): a slow or failing shadow can cost the caller nothing but the offer itself.
/// The copy reaches the shadow's model like any call (its silo chosen by <see cref="ModelRouter"/>) but is marked
/// <see cref="InvocationRequest.Shadow"/>, so the live monitor does not count its rows a second time.
/// </summary>
public sealed partial class ShadowTraffic : BackgroundService
{
    private readonly Channel<ShadowCall> _queue;
    private readonly ConcurrentDictionary<(string Group, int Version), ShadowStats> _stats = new();
    private readonly FleetClient _fleet;
    private readonly ILogger<ShadowTraffic> _logger;

    public ShadowTraffic(FleetClient fleet, IOptions<FleetOptions> options, ILogger<ShadowTraffic> logger)
    {
        _fleet = fleet;
        _logger = logger;
        _queue = Channel.CreateBounded<ShadowCall>(new BoundedChannelOptions(options.Value.ShadowQueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
    }

    /// <summary>
    /// Offers a scored call to <paramref name="shadow"/>: taken when it falls in the shadow's percent, dropped
    /// (and counted) when the queue is full. Never waits.
    /// </summary>
    public void Offer(string group, ShadowRoute shadow, InvocationRequest request, InvocationResult answer)
    {
        var stats = StatsOf(group, shadow.Version);
        if (!stats.Sample(shadow.Percent))
        {
            return;
        }
        if (_queue.Writer.TryWrite(new ShadowCall(group, shadow, request, answer.Body)))
        {
            stats.Taken();
        }
        else
        {
            stats.Dropped();
        }
    }

    /// <summary>Every shadow version's counters in this process.</summary>
    public IReadOnlyList<ShadowStatsSnapshot> Snapshot() =>
        [.. _stats.Select(pair => pair.Value.Snapshot(pair.Key.Group, pair.Key.Version)).OrderBy(s => s.Group, StringComparer.Ordinal).ThenBy(s => s.Version)];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var call in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                await ScoreAsync(call);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: copies still queued are not scored.
        }
    }

    private async Task ScoreAsync(ShadowCall call)
    {
        var stats = StatsOf(call.Group, call.Shadow.Version);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await _fleet.InvokeAsync(call.Shadow.ArtifactSha256,
                call.Request with { Output = PayloadFormat.Csv, Version = call.Shadow.Version, Shadow = true });
            var elapsed = Stopwatch.GetTimestamp() - started;
            if (result.Outcome != InvocationOutcome.Scored)
            {
                stats.Failed(elapsed);
                return;
            }
            var (rows, agreed, differences) = ShadowComparison.Compare(
                ShadowComparison.Read(call.Answer, call.Request.Output), ShadowComparison.Read(result.Body, PayloadFormat.Csv));
            stats.Scored(elapsed, call.Request.Version, rows, agreed, differences);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A shadow that throws is a failed shadow, never a failed worker.
            stats.Failed(Stopwatch.GetTimestamp() - started);
            LogShadowFailed(call.Group, call.Shadow.Version, e);
        }
    }

    private ShadowStats StatsOf(string group, int version) =>
        _stats.TryGetValue((group, version), out var stats) ? stats : _stats.GetOrAdd((group, version), static _ => new ShadowStats());

    [LoggerMessage(Level = LogLevel.Warning, Message = "Group {Group}: scoring a shadow copy with version {Version} failed")]
    private partial void LogShadowFailed(string group, int version, Exception exception);

    /// <summary>A copy of one answered call: the caller's rows and the answer they got.</summary>
    private sealed record ShadowCall(string Group, ShadowRoute Shadow, InvocationRequest Request, byte[] Answer);
}
