using System.Text.Json.Serialization;

namespace Flotilla.Fleet.Rollout;

/// <summary>
/// How a canary approval moves a new version to all of its group's calls: through <see cref="Steps"/> (percent of
/// the calls, rising, ending at 100), each held at least <see cref="BakeSeconds"/> and until the new version has
/// <see cref="MinCalls"/> calls there; at every step it is compared with the version it replaces and rolled back
/// when worse by any rule.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record RolloutPlan(
    [property: Id(0)] IReadOnlyList<int> Steps,
    [property: Id(1)] int BakeSeconds,
    [property: Id(2)] int MinCalls = RolloutPlan.DefaultMinCalls,
    [property: Id(3)] double MaxErrorRateIncrease = RolloutPlan.DefaultMaxErrorRateIncrease,
    [property: Id(4)] double MaxP99Ratio = RolloutPlan.DefaultMaxP99Ratio,
    [property: Id(5)] double MaxAucDrop = RolloutPlan.DefaultMaxAucDrop,
    [property: Id(6)] int MinLabelledAnswers = RolloutPlan.DefaultMinLabelledAnswers,
    [property: Id(7)] double MinP99IncreaseMilliseconds = RolloutPlan.DefaultMinP99IncreaseMilliseconds)
{
    public const int DefaultMinCalls = 200;
    public const double DefaultMaxErrorRateIncrease = 0.01;
    public const double DefaultMaxP99Ratio = 1.5;
    public const double DefaultMaxAucDrop = 0.02;
    public const int DefaultMinLabelledAnswers = 200;

    /// <summary>
    /// A p99 above the ratio counts only when it is also this much higher: at tenths of a millisecond, scheduling noise
    /// alone doubles a p99 (0.074 → 0.147 ms was seen on a busy machine with a healthy canary).
    /// </summary>
    public const double DefaultMinP99IncreaseMilliseconds = 1;
    public const int MaxSteps = 10;

    /// <summary>What is wrong with the plan, naming the field, or null.</summary>
    public string? Problem()
    {
        if (Steps is null || Steps.Count is 0 or > MaxSteps)
        {
            return $"rollout.steps must list 1 to {MaxSteps} percentages of the calls, rising and ending at 100, e.g. [10, 50, 100].";
        }
        for (var i = 0; i < Steps.Count; i++)
        {
            if (Steps[i] is < 1 or > 100 || i > 0 && Steps[i] <= Steps[i - 1])
            {
                return $"rollout.steps[{i}] is {Steps[i]}: steps are whole percentages from 1 to 100, each above the one before.";
            }
        }
        if (Steps[^1] != 100)
        {
            return $"rollout.steps must end at 100 (the last is {Steps[^1]}): a canary ends serving all calls or rolled back.";
        }
        if (BakeSeconds is < 0 or > 7 * 24 * 3600)
        {
            return $"rollout.bakeSeconds must be from 0 to 604800 (a week); was {BakeSeconds}.";
        }
        if (MinCalls is < 1 or > 10_000_000)
        {
            return $"rollout.minCalls must be from 1 to 10,000,000; was {MinCalls}.";
        }
        if (!(MaxErrorRateIncrease is >= 0 and <= 1))
        {
            return $"rollout.maxErrorRateIncrease is a share of calls from 0 to 1 (0.01 = 1 point); was {MaxErrorRateIncrease}.";
        }
        if (!(MaxP99Ratio is >= 1 and <= 1000))
        {
            return $"rollout.maxP99Ratio must be from 1 to 1000; was {MaxP99Ratio}.";
        }
        if (!(MinP99IncreaseMilliseconds is >= 0 and <= 60_000))
        {
            return $"rollout.minP99IncreaseMilliseconds must be from 0 to 60000; was {MinP99IncreaseMilliseconds}.";
        }
        if (!(MaxAucDrop is >= 0 and <= 1))
        {
            return $"rollout.maxAucDrop must be from 0 to 1; was {MaxAucDrop}.";
        }
        return MinLabelledAnswers is < 1 or > 10_000_000 ? $"rollout.minLabelledAnswers must be from 1 to 10,000,000; was {MinLabelledAnswers}." : null;
    }
}

[JsonConverter(typeof(JsonStringEnumConverter<RolloutState>))]
public enum RolloutState
{
    /// <summary>Asked for with an approval; starts when the deployer handles that approval.</summary>
    Planned,

    /// <summary>The new version serves the current step's share of the calls.</summary>
    Running,

    /// <summary>Found worse: the calls are being given back to the previous version and the new one rejected.</summary>
    RollingBack,

    /// <summary>The new version serves every call.</summary>
    Succeeded,

    /// <summary>The previous version serves every call again and the new one is Rejected, with the reason.</summary>
    RolledBack,

    /// <summary>Ended without a verdict: superseded by another approval, or the alias was changed by hand.</summary>
    Cancelled,
}

/// <summary>One canary rollout of a group's version, as stored (<see cref="RolloutStore"/>) and shown.</summary>
[GenerateSerializer, Immutable]
public sealed record CanaryRollout(
    [property: Id(0)] string Group,
    [property: Id(1)] int Version,
    [property: Id(2)] string PackageId,
    [property: Id(3)] int? PreviousVersion,
    [property: Id(4)] RolloutPlan Plan,
    [property: Id(5)] RolloutState State,
    [property: Id(6)] int StepIndex,
    [property: Id(7)] DateTimeOffset? StepStartedAt,
    [property: Id(8)] string? Reason,
    [property: Id(9)] CanaryComparison? Comparison,
    [property: Id(10)] string CreatedBy,
    [property: Id(11)] DateTimeOffset CreatedAt,
    [property: Id(12)] DateTimeOffset UpdatedAt)
{
    /// <summary>The share of calls the new version has at the current step.</summary>
    public int StepPercent => Plan.Steps[Math.Clamp(StepIndex, 0, Plan.Steps.Count - 1)];

    public bool Active => State is RolloutState.Planned or RolloutState.Running or RolloutState.RollingBack;
}
