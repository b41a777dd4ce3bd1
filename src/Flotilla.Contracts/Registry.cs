using System.Text.Json;
using System.Text.Json.Serialization;

namespace Flotilla.Contracts;

[JsonConverter(typeof(JsonStringEnumConverter<ApprovalStatus>))]
public enum ApprovalStatus { PendingManualApproval, Approved, Rejected }

/// <summary>Why a version started or stopped serving: approved, its successor rejected, pinned through the API, a canary step or its rollback.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DeploymentReason>))]
public enum DeploymentReason { Approval, Rejection, Manual, Canary, Rollback }

/// <summary>All versions of one model: made on the first registration of a pipeline on a dataset.</summary>
public sealed record PackageGroup(string Name, long LatestVersion, long ApprovedCount, DateTimeOffset CreatedAt);

/// <summary>Which run made a package: the pipeline execution, its Register step and the dataset's content hash.</summary>
public sealed record PackageLineage(string? ExecutionId, string? StepName, string? DatasetHash);

/// <summary>Stored content: its SHA-256, size and location (relative to its store, absolute when recorded before 2026-12-01).</summary>
public sealed record ArtifactReference(string Sha256, long Size, string Uri);

/// <summary>
/// One immutable model version of a group, with its evaluation report (the Evaluate step's report as stored;
/// <see cref="EvaluationSummary"/> reads its headline) and the parameters it was trained with.
/// </summary>
public sealed record Package(
    string Id,
    string Group,
    long Version,
    ArtifactReference Artifact,
    JsonElement EvaluationReport,
    JsonElement Parameters,
    PackageLineage Lineage,
    ApprovalStatus ApprovalStatus,
    string? ApprovalDescription,
    string? StatusChangedBy,
    DateTimeOffset? StatusChangedAt,
    DateTimeOffset CreatedAt);

/// <summary>A package in a listing: everything but the full evaluation report, whose top-level numbers are kept as metrics.</summary>
public sealed record PackageSummary(
    string Id,
    string Group,
    long Version,
    ApprovalStatus ApprovalStatus,
    string? ApprovalDescription,
    string? StatusChangedBy,
    DateTimeOffset? StatusChangedAt,
    DateTimeOffset CreatedAt,
    string ArtifactSha256,
    IReadOnlyDictionary<string, double> Metrics,
    PackageLineage Lineage);

public sealed record ConfusionMatrix(int TruePositives, int FalsePositives, int TrueNegatives, int FalseNegatives);

/// <summary>
/// The headline of a package's evaluation report (the held-out test set, at the model's decision threshold). The
/// report is open JSON (the Evaluate step writes all of these; a step of a user's pipeline may write fewer), so each
/// field is null when the report lacks it.
/// </summary>
public sealed record EvaluationSummary(
    int? Rows,
    int? Positives,
    string? PositiveLabel,
    string? NegativeLabel,
    double? Threshold,
    double? Accuracy,
    double? Precision,
    double? Recall,
    double? F1,
    double? Auc,
    double? AveragePrecision,
    double? LogLoss,
    ConfusionMatrix? ConfusionMatrix);

/// <summary><c>PATCH /api/registry/packages/{id}</c>: the new status and why; an approval may carry a canary <see cref="Rollout"/>.</summary>
public sealed record UpdateApprovalRequest(string? ApprovalStatus, string? Description, RolloutRequest? Rollout = null);

/// <summary>One interval during which a version served a group's name.</summary>
public sealed record DeploymentRecord(
    string Group,
    long Sequence,
    string PackageId,
    int Version,
    string ArtifactSha256,
    DeploymentReason Reason,
    DateTimeOffset From,
    DateTimeOffset? To,
    DeploymentReason? EndReason);

/// <summary>An attempt to deploy a version that failed (its model would not load), so the alias stayed where it was.</summary>
public sealed record DeploymentFailure(
    string Group,
    string PackageId,
    int Version,
    string ArtifactSha256,
    DeploymentReason Reason,
    DateTimeOffset At,
    string Error);
