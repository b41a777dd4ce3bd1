namespace Flotilla.Fleet.Aliases;

/// <summary>
/// A version that sees a copy of <see cref="Percent"/> % of a group's calls, scored after the caller has its answer
/// and compared with it; it never answers. It may still be pending approval: that is what shadow testing is for.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record ShadowRoute(
    [property: Id(0)] int Version,
    [property: Id(1)] string PackageId,
    [property: Id(2)] string ArtifactSha256,
    [property: Id(3)] int Percent);
