using Flotilla.Fleet.Aliases;
using Flotilla.Registry;
using Flotilla.Registry.Events;
using Microsoft.Extensions.Hosting;

namespace Flotilla.Fleet.Deployments;

/// <summary>
/// Follows the registry's approval events and hands each to the group's <see cref="IDeploymentGrain"/>.
/// A failure (e.g. the database is unreachable) propagates, so the outbox delivers the event again.
/// </summary>
internal sealed class Deployer(IGrainFactory grains, IHostApplicationLifetime lifetime) : IRegistryEventSubscriber
{
    public async Task HandleAsync(ApprovalStatusChanged @event, CancellationToken cancellationToken)
    {
        if (@event.NewStatus == ApprovalStatus.PendingManualApproval)
        {
            return;
        }
        // The outbox may deliver before the silo has started; grain calls need it running.
        await WhenStartedAsync(cancellationToken);
        var reason = @event.NewStatus == ApprovalStatus.Approved ? DeploymentReason.Approval : DeploymentReason.Rejection;
        await grains.GetGrain<IDeploymentGrain>(@event.Group).ReconcileAsync(reason, cancellationToken);
    }

    private async Task WhenStartedAsync(CancellationToken cancellationToken)
    {
        if (lifetime.ApplicationStarted.IsCancellationRequested)
        {
            return;
        }
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await started.Task.WaitAsync(cancellationToken);
    }
}
