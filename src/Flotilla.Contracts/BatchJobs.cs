using System.Text.Json.Serialization;

namespace Flotilla.Contracts;

[JsonConverter(typeof(JsonStringEnumConverter<BatchJobStatus>))]
public enum BatchJobStatus { Queued, Running, Succeeded, Failed, Cancelled }

/// <summary><c>POST /api/batch-jobs</c>: a group (its deployed version) or a package id, a registered dataset, the result's file name.</summary>
public sealed record CreateBatchJobRequest(string? Group, string? Package, string? Dataset, string? OutputName = null);

/// <summary>One batch scoring job; <see cref="ResultSha256"/> is set once the whole result CSV is stored.</summary>
public sealed record BatchJob(
    string Id,
    string? Group,
    string PackageId,
    string ArtifactSha256,
    string Dataset,
    string OutputName,
    BatchJobStatus Status,
    long RowsDone,
    long RowsTotal,
    string? FailureReason,
    string? ResultSha256,
    long? ResultBytes,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? EndedAt)
{
    public bool IsFinished => Status is BatchJobStatus.Succeeded or BatchJobStatus.Failed or BatchJobStatus.Cancelled;
}
