using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Flotilla.Contracts;

[JsonConverter(typeof(JsonStringEnumConverter<ExecutionStatus>))]
public enum ExecutionStatus { Executing, Stopping, Stopped, Failed, Succeeded }

[JsonConverter(typeof(JsonStringEnumConverter<StepStatus>))]
public enum StepStatus { Pending, Executing, Succeeded, Failed, Stopped, Skipped }

[JsonConverter(typeof(JsonStringEnumConverter<TrialStatus>))]
public enum TrialStatus { Complete, Pruned, Failed }

/// <summary><c>POST /api/pipelines/{pipeline}/executions</c>: parameter values by name (or alias).</summary>
public sealed record StartExecutionRequest(IReadOnlyDictionary<string, JsonNode?>? Parameters);

/// <summary>The 202 answer of a start: the execution runs on.</summary>
public sealed record ExecutionStarted(string ExecutionId, string Pipeline, ExecutionStatus Status);

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
public sealed record ExecutionStep(
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
    IReadOnlyList<ExecutionStep> Steps)
{
    public bool IsFinished => Status is ExecutionStatus.Stopped or ExecutionStatus.Failed or ExecutionStatus.Succeeded;
}

/// <summary>
/// A finished tuning trial. <see cref="Planned"/> is how many trials the tuner planned in all when this one
/// finished (fewer than MaxTuningJobs for a small grid): what progress counts to. Null for trials recorded before
/// it was kept. <see cref="Silo"/> is the fleet silo that ran it, as <c>GET /api/endpoint</c> names instances (null
/// for trials recorded before it was kept).
/// </summary>
public sealed record ExecutionTrial(
    string Step,
    int Number,
    string Algorithm,
    JsonNode? Parameters,
    IReadOnlyList<double> FoldScores,
    double? Score,
    TrialStatus Status,
    double Seconds,
    int? Planned,
    string? Reason,
    string? Silo = null);

/// <summary>
/// One server-sent event of <c>GET /api/executions/{id}/events</c>; <see cref="Type"/> is also the SSE event name:
/// <c>snapshot</c> (with <see cref="Execution"/>), <c>step</c>, <c>trial</c> (with <see cref="Trial"/>) or <c>execution</c>.
/// </summary>
public sealed record ExecutionEvent(
    string Type,
    string ExecutionId,
    string? Step = null,
    string? Status = null,
    string? Message = null,
    ExecutionTrial? Trial = null,
    ExecutionDetail? Execution = null)
{
    public const string Snapshot = "snapshot";
}

/// <summary>
/// The outputs of a <c>Tune</c> step that clients read (the rest of its outputs are files and the best trial).
/// <see cref="Silos"/>: where that run of the step sent its trials (empty when trials ran in the server process alone).
/// </summary>
public sealed record TuneOutputs(int? Planned, IReadOnlyList<TuneSilo>? Silos = null);

/// <summary>
/// A fleet silo in a Tune step's run: its cores (its trial slots), how many trials it ran, and why it took no part
/// (<see cref="LeftOut"/>: it did not say its cores within the run's start-up timeout) or stopped taking part
/// (<see cref="Lost"/>: it died or left mid-run; its trials ran again on other silos).
/// </summary>
public sealed record TuneSilo(string Silo, int Cores, int Trials, string? LeftOut, string? Lost);

/// <summary>The outputs of a <c>Register</c> step.</summary>
public sealed record RegisterOutputs(string PackageId, string Group, long Version, ApprovalStatus ApprovalStatus, string ArtifactSha256);
