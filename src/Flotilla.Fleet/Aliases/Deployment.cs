using System.Text.Json.Serialization;

namespace Flotilla.Fleet.Aliases;

/// <summary>What a group's friendly name points at: one registered package version and its artifact.</summary>
[GenerateSerializer, Immutable]
public sealed record Deployment(
    [property: Id(0)] string Group,
    [property: Id(1)] string PackageId,
    [property: Id(2)] int Version,
    [property: Id(3)] string ArtifactSha256,
    [property: Id(4)] DateTimeOffset DeployedAt,
    [property: Id(5)] long Revision);

/// <summary>Why a version started or stopped serving.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DeploymentReason>))]
public enum DeploymentReason
{
    /// <summary>A version was approved and is the group's latest approved one.</summary>
    Approval,

    /// <summary>The deployed version was rejected: the previous approved one takes over, or nothing does.</summary>
    Rejection,

    /// <summary>An operator pinned a version through the API.</summary>
    Manual,
}

/// <summary>One interval during which a version served a group's name.</summary>
[GenerateSerializer, Immutable]
public sealed record DeploymentRecord(
    [property: Id(0)] string Group,
    [property: Id(1)] long Sequence,
    [property: Id(2)] string PackageId,
    [property: Id(3)] int Version,
    [property: Id(4)] string ArtifactSha256,
    [property: Id(5)] DeploymentReason Reason,
    [property: Id(6)] DateTimeOffset From,
    [property: Id(7)] DateTimeOffset? To,
    [property: Id(8)] DeploymentReason? EndReason);

/// <summary>An attempt to deploy a version that failed (its model would not load), so the alias stayed where it was.</summary>
[GenerateSerializer, Immutable]
public sealed record DeploymentFailure(
    [property: Id(0)] string Group,
    [property: Id(1)] string PackageId,
    [property: Id(2)] int Version,
    [property: Id(3)] string ArtifactSha256,
    [property: Id(4)] DeploymentReason Reason,
    [property: Id(5)] DateTimeOffset At,
    [property: Id(6)] string Error);
