using Flotilla.Fleet;
using Flotilla.Pipelines.Steps;

namespace Flotilla.Server.Endpoint;

/// <summary>The champion of a group for the pipelines' Evaluate step: the version this server's alias map serves.</summary>
internal sealed class AliasServedModels(FleetClient fleet) : IServedModels
{
    public Task<ServedModel?> GetAsync(string group, CancellationToken cancellationToken) =>
        Task.FromResult(fleet.TryGetDeployment(group, out var deployment)
            ? new ServedModel(deployment.Group, deployment.Version, deployment.PackageId, deployment.ArtifactSha256)
            : null);
}
