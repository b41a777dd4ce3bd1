namespace Flotilla.Fleet.Autoscaling;

/// <summary>
/// The seam between the autoscaler's decision and whatever runs instances (local processes today,
/// Kubernetes replicas being the other planned backend; docs/architecture.md): <see cref="LocalProcessScaler"/> starts and stops child servers.
/// </summary>
public interface IInstanceScaler
{
    /// <summary>
    /// Moves the fleet from <paramref name="current"/> instances (members now) to <paramref name="desired"/>.
    /// Returns once the change is requested; new instances join the cluster on their own.
    /// </summary>
    Task ScaleAsync(int current, int desired, CancellationToken cancellationToken);
}
