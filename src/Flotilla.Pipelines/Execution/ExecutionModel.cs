using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Flotilla.Pipelines.Execution;

[JsonConverter(typeof(JsonStringEnumConverter<ExecutionStatus>))]
public enum ExecutionStatus { Executing, Stopping, Stopped, Failed, Succeeded }

[JsonConverter(typeof(JsonStringEnumConverter<StepStatus>))]
public enum StepStatus { Pending, Executing, Succeeded, Failed, Stopped, Skipped }

/// <summary>An execution as listed: no steps.</summary>
public sealed record ExecutionSummary(
    string Id,
    string Pipeline,
    ExecutionStatus Status,
    JsonObject Parameters,
    DateTimeOffset CreatedAt,
    DateTimeOffset? EndedAt,
    string? FailureReason);

/// <summary>One step of an execution. <see cref="CachedFrom"/> names the execution whose outputs were reused.</summary>
public sealed record StepState(
    string Name,
    string Type,
    StepStatus Status,
    int Attempts,
    DateTimeOffset? StartedAt,
    DateTimeOffset? EndedAt,
    JsonObject? Outputs,
    string? Log,
    string? FailureReason,
    string? CachedFrom);

/// <summary>An execution with its steps, in definition order.</summary>
public sealed record ExecutionDetail(
    string Id,
    string Pipeline,
    ExecutionStatus Status,
    JsonObject Parameters,
    DateTimeOffset CreatedAt,
    DateTimeOffset? EndedAt,
    string? FailureReason,
    IReadOnlyList<StepState> Steps)
{
    public bool IsFinished => Status is ExecutionStatus.Stopped or ExecutionStatus.Failed or ExecutionStatus.Succeeded;
}

/// <summary>
/// A tuning trial as persisted when it completed: kept across a crash and shown by the trials endpoint.
/// <see cref="Planned"/> is how many trials the tuner plans in all (fewer than MaxTuningJobs when a grid is
/// smaller) when this one finished: what progress bars count to. Null for trials recorded before it was kept.
/// <see cref="Silo"/> is the fleet silo that ran it (null for trials run outside a fleet, stopped before their executor answered, or recorded before it was kept).
/// </summary>
public sealed record ExecutionTrial(
    string Step,
    int Number,
    string Algorithm,
    JsonNode? Parameters,
    IReadOnlyList<double> FoldScores,
    double? Score,
    string Status,
    double Seconds,
    [property: JsonIgnore] string Data,
    int? Planned = null,
    string? Silo = null)
{

    /// <summary>Why a trial was pruned or failed; null for a complete one.</summary>
    public string? Reason => JsonNode.Parse(Data)?["reason"]?.GetValue<string>();
}

/// <summary>A change worth showing live: an execution or step status, a finished trial.</summary>
public sealed record ExecutionEvent(
    string Type,
    string ExecutionId,
    string? Step = null,
    string? Status = null,
    string? Message = null,
    ExecutionTrial? Trial = null,
    ExecutionDetail? Execution = null);

/// <summary>The execution or pipeline asked for does not exist.</summary>
public sealed class NotFoundException(string message) : Exception(message);

/// <summary>The request conflicts with the current state (e.g. stopping a finished execution, a duplicate name).</summary>
public sealed class ConflictException(string message) : Exception(message);
