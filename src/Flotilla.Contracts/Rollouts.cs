using System.Text.Json.Serialization;

namespace Flotilla.Contracts;

/// <summary>
/// The <c>"rollout"</c> of an approval (<see cref="UpdateApprovalRequest.Rollout"/>): <c>"strategy": "canary"</c> and
/// its rules; an unset rule takes the server's default (steps 10, 50, 100; 300 s bake; 200 calls per step).
/// </summary>
public sealed record RolloutRequest(
    string? Strategy,
    IReadOnlyList<int>? Steps = null,
    int? BakeSeconds = null,
    int? MinCalls = null,
    double? MaxErrorRateIncrease = null,
    double? MaxP99Ratio = null,
    double? MaxAucDrop = null,
    int? MinLabelledAnswers = null,
    double? MinP99IncreaseMilliseconds = null);

/// <summary>A canary's plan: the percent steps of the calls, how long each bakes, and the rules that roll it back.</summary>
public sealed record RolloutPlan(
    IReadOnlyList<int> Steps,
    int BakeSeconds,
    int MinCalls,
    double MaxErrorRateIncrease,
    double MaxP99Ratio,
    double MaxAucDrop,
    int MinLabelledAnswers,
    double MinP99IncreaseMilliseconds);

[JsonConverter(typeof(JsonStringEnumConverter<RolloutState>))]
public enum RolloutState { Planned, Running, RollingBack, Succeeded, RolledBack, Cancelled }

[JsonConverter(typeof(JsonStringEnumConverter<CanaryVerdict>))]
public enum CanaryVerdict { Waiting, Healthy, Worse }

/// <summary>A step's comparison of the new version with the previous one, and its verdict.</summary>
public sealed record CanaryComparison(
    int StepPercent,
    CanaryVerdict Verdict,
    string Summary,
    long CanaryCalls,
    double CanaryErrorRate,
    double CanaryP99Milliseconds,
    long PreviousCalls,
    double PreviousErrorRate,
    double PreviousP99Milliseconds,
    double? CanaryAuc,
    double? PreviousAuc,
    DateTimeOffset At);

/// <summary>
/// One canary rollout of a group's version (<c>GET /api/endpoint/groups/{group}/rollout</c>, <c>rollouts</c> of
/// <c>GET /api/endpoint</c>): its plan, state, current step and share of the calls, the latest comparison and why it ended.
/// </summary>
public sealed record CanaryRollout(
    string Group,
    int Version,
    string PackageId,
    int? PreviousVersion,
    RolloutPlan Plan,
    RolloutState State,
    int StepIndex,
    DateTimeOffset? StepStartedAt,
    string? Reason,
    CanaryComparison? Comparison,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    int StepPercent,
    bool Active);

/// <summary>
/// A shadow version's comparison with the answers its group gave, summed over every silo: copies taken and dropped,
/// scored and failed, label agreement over the rows compared, |probability difference| mean, p50 and p99, and the
/// shadow's own scoring latency.
/// </summary>
public sealed record ShadowView(
    string Group,
    int Version,
    int? PrimaryVersion,
    long Calls,
    long Dropped,
    long Scored,
    long Failed,
    long Rows,
    double Agreement,
    double MeanProbabilityDifference,
    double P50ProbabilityDifference,
    double P99ProbabilityDifference,
    double P50LatencyMilliseconds,
    double P99LatencyMilliseconds);
