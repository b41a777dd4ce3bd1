using System.Globalization;
using System.Text.Json.Serialization;
using Flotilla.Fleet.Monitoring;
using Flotilla.Fleet.Observability;

namespace Flotilla.Fleet.Rollout;

/// <summary>One version's calls in a step's window, summed over the fleet: answered, failed (5xx) and the answered ones' latency.</summary>
public sealed record VersionWindow(long Answered, long Failed, IReadOnlyList<long> Latency)
{
    public long Calls => Answered + Failed;

    public double ErrorRate => Calls == 0 ? 0 : Failed / (double)Calls;

    public double P99Seconds => LatencyHistogram.QuantileSeconds(Latency, 0.99);
}

[JsonConverter(typeof(JsonStringEnumConverter<CanaryVerdict>))]
public enum CanaryVerdict
{
    /// <summary>Not enough calls (or labelled answers) yet to judge.</summary>
    Waiting,

    Healthy,

    Worse,
}

/// <summary>A step's comparison of the new version with the previous one, and its verdict.</summary>
[GenerateSerializer, Immutable]
public sealed record CanaryComparison(
    [property: Id(0)] int StepPercent,
    [property: Id(1)] CanaryVerdict Verdict,
    [property: Id(2)] string Summary,
    [property: Id(3)] long CanaryCalls,
    [property: Id(4)] double CanaryErrorRate,
    [property: Id(5)] double CanaryP99Milliseconds,
    [property: Id(6)] long PreviousCalls,
    [property: Id(7)] double PreviousErrorRate,
    [property: Id(8)] double PreviousP99Milliseconds,
    [property: Id(9)] double? CanaryAuc,
    [property: Id(10)] double? PreviousAuc,
    [property: Id(11)] DateTimeOffset At);

/// <summary>
/// The rules of a canary step: once the new version has the plan's minimum calls, it is worse when its 5xx rate is
/// higher by more than the allowed points, its p99 above the allowed multiple of the previous version's (and higher
/// by at least the plan's minimum increase), or — with
/// enough labelled answers for both — its live AUC lower by more than the allowed drop. Live quality is what
/// <see cref="ILiveModelMetrics"/> reports over the monitoring's feedback window: for the canary that is its own
/// answers since it first served, for the previous version its answers of the same window.
/// </summary>
public static class CanaryJudge
{
    public static CanaryComparison Judge(
        RolloutPlan plan, int stepPercent, VersionWindow canary, VersionWindow previous, LiveVersionMetrics? canaryQuality, LiveVersionMetrics? previousQuality,
        DateTimeOffset now)
    {
        var canaryAuc = canaryQuality is { } cq && cq.Labelled >= plan.MinLabelledAnswers ? cq.Auc : null;
        var previousAuc = previousQuality is { } pq && pq.Labelled >= plan.MinLabelledAnswers ? pq.Auc : null;
        CanaryComparison Verdict(CanaryVerdict verdict, string summary) => new(
            stepPercent, verdict, summary, canary.Calls, canary.ErrorRate, canary.P99Seconds * 1000, previous.Calls, previous.ErrorRate,
            previous.P99Seconds * 1000, canaryAuc, previousAuc, now);

        if (canary.Calls < plan.MinCalls)
        {
            return Verdict(CanaryVerdict.Waiting, $"waiting at {stepPercent} %: {canary.Calls} of {plan.MinCalls} calls");
        }
        if (canary.ErrorRate - previous.ErrorRate > plan.MaxErrorRateIncrease)
        {
            return Verdict(CanaryVerdict.Worse, $"canary rolled back at {stepPercent} %: error rate {Percent(canary.ErrorRate)} vs {Percent(previous.ErrorRate)}");
        }
        if (previous.Answered > 0 && canary.Answered > 0 && canary.P99Seconds > plan.MaxP99Ratio * previous.P99Seconds
            && (canary.P99Seconds - previous.P99Seconds) * 1000 > plan.MinP99IncreaseMilliseconds)
        {
            return Verdict(CanaryVerdict.Worse,
                $"canary rolled back at {stepPercent} %: p99 {Milliseconds(canary.P99Seconds)} vs {Milliseconds(previous.P99Seconds)} (over {plan.MaxP99Ratio.ToString("0.##", CultureInfo.InvariantCulture)}×)");
        }
        if (canaryAuc is { } c && previousAuc is { } p && p - c > plan.MaxAucDrop)
        {
            return Verdict(CanaryVerdict.Worse,
                $"canary rolled back at {stepPercent} %: live AUC {c.ToString("0.000", CultureInfo.InvariantCulture)} vs {p.ToString("0.000", CultureInfo.InvariantCulture)}");
        }
        return Verdict(CanaryVerdict.Healthy,
            $"healthy at {stepPercent} %: error rate {Percent(canary.ErrorRate)} vs {Percent(previous.ErrorRate)}, p99 {Milliseconds(canary.P99Seconds)} vs {Milliseconds(previous.P99Seconds)}");
    }

    private static string Percent(double share) => (share * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %";

    private static string Milliseconds(double seconds) => (seconds * 1000).ToString("0.###", CultureInfo.InvariantCulture) + " ms";
}
