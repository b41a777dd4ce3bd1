using System.Collections.Concurrent;
using Flotilla.Fleet;
using Flotilla.Fleet.Monitoring;
using Microsoft.Extensions.Options;

namespace Flotilla.Server.Monitoring;

/// <summary>
/// Re-computes the drift of every deployed group each <see cref="MonitoringOptions.EvaluateInterval"/>, keeps the
/// latest report for <c>/metrics</c> (so a scrape costs no fan-out) and announces a change of a group's state.
/// </summary>
internal sealed partial class DriftWatch(
    FleetClient fleet, MonitorClient monitor, DriftEvents events, IOptions<MonitoringOptions> options, TimeProvider time, ILogger<DriftWatch> logger)
    : BackgroundService
{
    private readonly ConcurrentDictionary<string, DriftReport> _latest = new(StringComparer.Ordinal);

    // What this server last recorded per group, so an unchanged state costs no write transaction each round.
    private readonly Dictionary<string, (string PackageId, DriftState State)> _recorded = new(StringComparer.Ordinal);

    /// <summary>The latest report of every deployed group that has one.</summary>
    public IReadOnlyCollection<DriftReport> Latest => [.. _latest.Values.OrderBy(r => r.Group, StringComparer.Ordinal)];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.EvaluateInterval, time, stoppingToken);
                await EvaluateAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // A silo leaving or the database away for a moment: the next round tries again.
                LogEvaluateFailed(logger, e);
            }
        }
    }

    /// <summary>One round: every deployed group's drift, its state compared with the last one seen.</summary>
    public async Task EvaluateAsync(CancellationToken cancellationToken)
    {
        var deployed = fleet.Aliases.Select(a => a.Group).ToHashSet(StringComparer.Ordinal);
        foreach (var gone in _latest.Keys.Where(g => !deployed.Contains(g)))
        {
            _latest.TryRemove(gone, out _);
        }
        foreach (var group in deployed)
        {
            var answer = await monitor.DriftAsync(group, cancellationToken);
            if (answer.Report is not { } report)
            {
                _latest.TryRemove(group, out _);
                continue;
            }
            _latest[group] = report;
            if (report.State == DriftState.Collecting || _recorded.GetValueOrDefault(group) == (report.PackageId, report.State))
            {
                continue;
            }
            if (await events.AnnounceAsync(report, cancellationToken))
            {
                LogStateChanged(logger, group, report.PackageId, report.State, report.TopDrifted.FirstOrDefault());
            }
            _recorded[group] = (report.PackageId, report.State);
        }
        await events.DeliverAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Drift of {Group} ({PackageId}) is now {NewState}; most drifted feature: {Feature}")]
    private static partial void LogStateChanged(ILogger logger, string group, string packageId, DriftState newState, string? feature);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Computing drift failed; retrying at the next round")]
    private static partial void LogEvaluateFailed(ILogger logger, Exception exception);
}
