using Flotilla.Storage.Artifacts;

namespace Flotilla.Registry.Events;

/// <summary>
/// A package's approval status changed; <see cref="OldStatus"/> is null when the package was just registered.
/// Delivered at least once: a subscriber may see the same <see cref="EventId"/> again and must act idempotently
/// (e.g. re-read the group's latest approved version rather than trusting the order of events).
/// </summary>
public sealed record ApprovalStatusChanged(
    string EventId,
    string Group,
    string PackageId,
    long Version,
    ArtifactRef Artifact,
    ApprovalStatus? OldStatus,
    ApprovalStatus NewStatus,
    string? ChangedBy,
    DateTimeOffset OccurredAt);

/// <summary>
/// Receives registry events from the <see cref="OutboxDispatcher"/>; register with
/// <c>services.AddSingleton&lt;IRegistryEventSubscriber, MySubscriber&gt;()</c>. Throwing makes the event be
/// delivered again later (with exponential backoff) to every subscriber.
/// </summary>
public interface IRegistryEventSubscriber
{
    Task HandleAsync(ApprovalStatusChanged @event, CancellationToken cancellationToken);
}
