using System.Text.Json.Serialization;

namespace Flotilla.Fleet.Aliases;

/// <summary>
/// What a group's friendly name points at: one registered package version and its artifact — with a
/// <see cref="Policy"/>, the version of its heaviest route, while calls are split across the routes.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record Deployment(
    [property: Id(0)] string Group,
    [property: Id(1)] string PackageId,
    [property: Id(2)] int Version,
    [property: Id(3)] string ArtifactSha256,
    [property: Id(4)] DateTimeOffset DeployedAt,
    [property: Id(5)] long Revision,
    [property: Id(6)] TrafficPolicy? Policy = null);

/// <summary>One approved version of a split alias and its share of the calls (weight out of the routes' total).</summary>
[GenerateSerializer, Immutable]
public sealed record Route(
    [property: Id(0)] int Version,
    [property: Id(1)] string PackageId,
    [property: Id(2)] string ArtifactSha256,
    [property: Id(3)] int Weight);

/// <summary>
/// How a group's calls are split: by weight over time, or — for a call carrying <see cref="StickyHeader"/> — by a
/// seeded hash of that header's value, so one caller keeps one version. With a <see cref="Shadow"/>, a share of
/// the calls is also scored by that version after the caller has its answer. One route and a shadow is a pin
/// with a shadow.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record TrafficPolicy(
    [property: Id(0)] IReadOnlyList<Route> Routes,
    [property: Id(1)] string? StickyHeader,
    [property: Id(2)] ShadowRoute? Shadow = null);

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

    /// <summary>A canary rollout moved the new version to its next step (or to all calls at its last one).</summary>
    Canary,

    /// <summary>A canary rollout found the new version worse than the previous one and gave the calls back to it.</summary>
    Rollback,
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
