using System.Data.Common;
using Flotilla.Fleet.Deployments;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Flotilla.Fleet.Rollout;

/// <summary>
/// Wakes the deployment grain of every group with a rollout in progress, every <see cref="RolloutOptions.CheckInterval"/>.
/// Every server runs one; the grain is one per group in the cluster, so the wake-ups are harmless repeats, and a
/// rollout whose grain's server died is picked up by the next wake-up from any other (or a restarted) server.
/// </summary>
internal sealed partial class RolloutDriver(
    IGrainFactory grains, RolloutStore store, IOptions<RolloutOptions> options, TimeProvider time, IHostApplicationLifetime lifetime,
    ILogger<RolloutDriver> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Grain calls need the silo started.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        {
            await started.Task.WaitAsync(stoppingToken);
        }
        using var timer = new PeriodicTimer(options.Value.CheckInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            IReadOnlyList<string> groups;
            try
            {
                groups = await store.GroupsInProgressAsync(stoppingToken);
            }
            catch (DbException e)
            {
                LogReadFailed(e);
                continue;
            }
            foreach (var group in groups)
            {
                try
                {
                    await grains.GetGrain<IDeploymentGrain>(group).AdvanceRolloutAsync(stoppingToken);
                }
                catch (Exception e) when (e is OrleansException or TimeoutException or DbException or InvalidOperationException)
                {
                    // The next wake-up tries again; a rollout's state is only ever moved by a stored step.
                    LogAdvanceFailed(group, e);
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the rollouts in progress failed; retrying at the next interval")]
    private partial void LogReadFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Group {Group}: moving its rollout on failed; retrying at the next interval")]
    private partial void LogAdvanceFailed(string group, Exception exception);
}
