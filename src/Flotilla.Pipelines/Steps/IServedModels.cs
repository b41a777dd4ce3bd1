namespace Flotilla.Pipelines.Steps;

/// <summary>
/// Which version the endpoint serves for a model group: the champion the Evaluate step scores a challenger
/// against. A seam because pipelines do not know the fleet: the server answers from its alias map; a host
/// without an endpoint serves nothing (<see cref="NoServedModels"/>).
/// </summary>
public interface IServedModels
{
    /// <summary>The version serving <paramref name="group"/>, or null when none does.</summary>
    Task<ServedModel?> GetAsync(string group, CancellationToken cancellationToken);
}

/// <summary>A served version: its registry package and the artifact the endpoint scores with.</summary>
public sealed record ServedModel(string Group, int Version, string PackageId, string ArtifactSha256);

/// <summary>The answer of a host that runs pipelines without an endpoint: no group has a served version.</summary>
public sealed class NoServedModels : IServedModels
{
    public Task<ServedModel?> GetAsync(string group, CancellationToken cancellationToken) => Task.FromResult<ServedModel?>(null);
}
