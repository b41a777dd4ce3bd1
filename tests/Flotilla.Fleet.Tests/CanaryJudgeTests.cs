using System.Diagnostics;
using Flotilla.Fleet.Monitoring;
using Flotilla.Fleet.Observability;
using Flotilla.Fleet.Rollout;

namespace Flotilla.Fleet.Tests;

public sealed class CanaryJudgeTests
{
    private static readonly RolloutPlan Plan = new([10, 50, 100], 300, MinCalls: 200);
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 0, 0, 0, TimeSpan.Zero);

    /// <summary>A window of <paramref name="answered"/> calls all taking <paramref name="milliseconds"/>, and <paramref name="failed"/> failures.</summary>
    private static VersionWindow Window(long answered, long failed, double milliseconds)
    {
        var latency = new long[LatencyHistogram.BucketCount];
        latency[LatencyHistogram.Index((long)(milliseconds / 1000 * Stopwatch.Frequency))] = answered;
        return new VersionWindow(answered, failed, latency);
    }

    /// <summary>What monitoring reports for a version with <paramref name="labelled"/> labelled answers (AUC null: all of one class).</summary>
    private static LiveVersionMetrics Live(int version, int labelled, double? auc) =>
        new(version, $"g-{version}", new string('a', 64), labelled, labelled, labelled / 2, auc, null, null, []);

    [Fact]
    public void A_canary_is_not_judged_before_it_has_the_minimum_calls()
    {
        var verdict = CanaryJudge.Judge(Plan, 10, Window(150, 49, 1), Window(1800, 0, 1), null, null, Now);

        Assert.Equal(CanaryVerdict.Waiting, verdict.Verdict);
        Assert.Equal("waiting at 10 %: 199 of 200 calls", verdict.Summary);
    }

    [Fact]
    public void An_error_rate_higher_by_more_than_one_point_is_worse_and_the_reason_names_both_rates()
    {
        var worse = CanaryJudge.Judge(Plan, 10, Window(190, 10, 1), Window(1800, 0, 1), null, null, Now);
        var within = CanaryJudge.Judge(Plan, 10, Window(198, 2, 1), Window(1800, 0, 1), null, null, Now);

        Assert.Equal((CanaryVerdict.Worse, "canary rolled back at 10 %: error rate 5.0 % vs 0.0 %"), (worse.Verdict, worse.Summary));
        Assert.Equal(CanaryVerdict.Healthy, within.Verdict);
    }

    [Fact]
    public void A_p99_above_one_and_a_half_times_the_previous_is_worse_and_within_it_is_healthy()
    {
        var slow = CanaryJudge.Judge(Plan, 50, Window(500, 0, 20), Window(500, 0, 2), null, null, Now);
        var close = CanaryJudge.Judge(Plan, 50, Window(500, 0, 2.4), Window(500, 0, 2), null, null, Now);

        Assert.Equal(CanaryVerdict.Worse, slow.Verdict);
        Assert.StartsWith("canary rolled back at 50 %: p99 ", slow.Summary);
        Assert.Equal(CanaryVerdict.Healthy, close.Verdict);
    }

    [Fact]
    public void A_doubled_p99_under_the_minimum_increase_is_noise_not_a_regression()
    {
        var verdict = CanaryJudge.Judge(Plan, 50, Window(500, 0, 0.15), Window(500, 0, 0.074), null, null, Now);

        Assert.Equal(CanaryVerdict.Healthy, verdict.Verdict);
    }

    [Fact]
    public void Live_auc_counts_only_with_enough_labelled_answers_for_both_versions()
    {
        var lower = CanaryJudge.Judge(Plan, 10, Window(300, 0, 1), Window(3000, 0, 1), Live(4, 250, 0.90), Live(3, 2500, 0.95), Now);
        var few = CanaryJudge.Judge(Plan, 10, Window(300, 0, 1), Window(3000, 0, 1), Live(4, 50, 0.50), Live(3, 2500, 0.95), Now);
        var oneClass = CanaryJudge.Judge(Plan, 10, Window(300, 0, 1), Window(3000, 0, 1), Live(4, 250, null), Live(3, 2500, 0.95), Now);

        Assert.Equal((CanaryVerdict.Worse, "canary rolled back at 10 %: live AUC 0.900 vs 0.950"), (lower.Verdict, lower.Summary));
        Assert.Equal(CanaryVerdict.Healthy, few.Verdict);
        Assert.Null(few.CanaryAuc);
        Assert.Equal(CanaryVerdict.Healthy, oneClass.Verdict);
    }

    [Fact]
    public void A_plan_names_what_is_wrong_with_it()
    {
        Assert.Null(Plan.Problem());
        Assert.Equal("rollout.steps[1] is 10: steps are whole percentages from 1 to 100, each above the one before.", new RolloutPlan([10, 10, 100], 1).Problem());
        Assert.Contains("rollout.bakeSeconds", new RolloutPlan([100], -1).Problem());
        Assert.Contains("rollout.maxP99Ratio", (Plan with { MaxP99Ratio = 0.5 }).Problem());
    }
}
