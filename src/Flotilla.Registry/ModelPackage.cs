using System.Text.Json;
using System.Text.Json.Serialization;
using Flotilla.Storage.Artifacts;

namespace Flotilla.Registry;

[JsonConverter(typeof(JsonStringEnumConverter<ApprovalStatus>))]
public enum ApprovalStatus { PendingManualApproval, Approved, Rejected }

/// <summary>Which run made the package: the pipeline execution, its Register step and the dataset's content hash.</summary>
public sealed record PackageLineage(string? ExecutionId, string? StepName, string? DatasetHash);

/// <summary>
/// One immutable model version of a group. <see cref="Id"/> is <c>&lt;group&gt;-v&lt;version&gt;</c>, e.g.
/// <c>multimodel-breast-cancer-v3</c>. Only the approval fields change after registration.
/// </summary>
public sealed record ModelPackage(
    string Id,
    string Group,
    long Version,
    ArtifactRef Artifact,
    JsonElement EvaluationReport,
    JsonElement Parameters,
    PackageLineage Lineage,
    ApprovalStatus ApprovalStatus,
    string? ApprovalDescription,
    string? StatusChangedBy,
    DateTimeOffset? StatusChangedAt,
    DateTimeOffset CreatedAt);

/// <summary>All versions of one model: made on the first registration of a pipeline on a dataset.</summary>
public sealed record ModelPackageGroup(string Name, long LatestVersion, long ApprovedCount, DateTimeOffset CreatedAt);

/// <summary>What a pipeline's Register step hands to <see cref="ModelRegistry.RegisterAsync"/>.</summary>
public sealed record RegisterModelPackage(
    string Group,
    ArtifactRef Artifact,
    JsonElement EvaluationReport,
    JsonElement Parameters,
    PackageLineage Lineage,
    ApprovalStatus ApprovalStatus = ApprovalStatus.PendingManualApproval,
    string? ApprovalDescription = null,
    string RegisteredBy = "pipeline");

/// <summary>Newest first, by version number or by the time of the last approval change (else creation).</summary>
public enum PackageSort { Version, Time }

public sealed class ModelPackageNotFoundException(string packageId)
    : Exception($"Model package '{packageId}' does not exist. Package ids look like '<group>-v<version>'; list them with GET /api/registry/groups/{{group}}/packages.")
{
    public string PackageId { get; } = packageId;
}

public sealed class InvalidApprovalTransitionException(string packageId, ApprovalStatus from, ApprovalStatus to)
    : Exception($"Model package '{packageId}' cannot go from {from} to {to}: {Explain(from, to)}")
{
    public string PackageId { get; } = packageId;
    public ApprovalStatus From { get; } = from;
    public ApprovalStatus To { get; } = to;

    private static string Explain(ApprovalStatus from, ApprovalStatus to) => to == ApprovalStatus.PendingManualApproval
        ? "a package that was approved or rejected is never pending again; approve or reject it instead."
        : $"allowed changes are {string.Join(", ", ApprovalTransitions.Allowed.Select(t => $"{t.From}→{t.To}"))}.";
}

public static class ApprovalTransitions
{
    /// <summary>A decision can be reversed (a rejected version approved later, an approved one withdrawn), never undone to pending.</summary>
    public static readonly IReadOnlyList<(ApprovalStatus From, ApprovalStatus To)> Allowed =
    [
        (ApprovalStatus.PendingManualApproval, ApprovalStatus.Approved),
        (ApprovalStatus.PendingManualApproval, ApprovalStatus.Rejected),
        (ApprovalStatus.Approved, ApprovalStatus.Rejected),
        (ApprovalStatus.Rejected, ApprovalStatus.Approved),
    ];

    public static bool IsAllowed(ApprovalStatus from, ApprovalStatus to) => Allowed.Contains((from, to));
}
