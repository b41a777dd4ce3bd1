using Flotilla.Fleet.Autoscaling;
using Microsoft.Extensions.Time.Testing;

namespace Flotilla.Fleet.Tests.Autoscaling;

public sealed class AutoscalePolicyTests
{
    private static readonly AutoscalerOptions Options = new()
    {
        Enabled = true,
        TargetInvocationsPerInstancePerSecond = 10,
        MinInstances = 1,
        MaxInstances = 5,
        Interval = TimeSpan.FromSeconds(10),
        ScaleInStabilisationWindow = TimeSpan.FromSeconds(60),
    };

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private readonly AutoscalePolicy _policy = new(Options);
    private List<AutoscaleDecision> _history = [];

    /// <summary>One interval passes, then a decision at that rate, kept in the history as the autoscaler keeps it.</summary>
    private AutoscaleDecision Step(int current, double ratePerInstance)
    {
        _time.Advance(Options.Interval);
        var decision = _policy.Decide(current, ratePerInstance, _time.GetUtcNow(), _history);
        _history.Add(decision);
        _history = _policy.Trim(_history, _time.GetUtcNow());
        return decision;
    }

    [Fact]
    public void Scaling_out_happens_at_the_first_high_reading()
    {
        var decision = Step(current: 2, ratePerInstance: 16);

        Assert.Equal(4, decision.Desired); // 32/s over a target of 10/s per instance: ceil(3.2)
        Assert.Equal(2, decision.Current);
    }

    [Fact]
    public void The_desired_count_is_clamped_to_the_minimum_and_the_maximum()
    {
        Assert.Equal(5, Step(current: 2, ratePerInstance: 1000).Desired);
        Assert.Equal(1, _policy.Decide(0, 0, _time.GetUtcNow(), []).Desired);
        Assert.Equal(1, Step(current: 1, ratePerInstance: 0).Desired);
    }

    [Fact]
    public void An_instance_count_above_the_maximum_is_brought_down_at_once()
    {
        Assert.Equal(5, Step(current: 7, ratePerInstance: 50).Desired);
    }

    [Fact]
    public void A_rate_that_falls_is_not_followed_until_it_has_stayed_low_for_the_stabilisation_window()
    {
        Assert.Equal(4, Step(current: 1, ratePerInstance: 35).Desired);
        var lowSince = _time.GetUtcNow();
        var held = 0;
        while (_time.GetUtcNow() + Options.Interval - lowSince < Options.ScaleInStabilisationWindow)
        {
            Assert.Equal(4, Step(current: 4, ratePerInstance: 2).Desired);
            held++;
        }
        Assert.Equal(5, held);

        var after = Step(current: 4, ratePerInstance: 2);

        Assert.Equal(1, after.Desired); // 8/s needs one instance
        Assert.Contains("stayed", after.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_rate_that_dips_and_recovers_inside_the_window_does_not_flap()
    {
        Assert.Equal(3, Step(current: 1, ratePerInstance: 25).Desired);
        var desired = new List<int>();
        for (var i = 0; i < 30; i++)
        {
            // 25/s and 5/s in turn: each high reading would need three instances again.
            desired.Add(Step(current: 3, ratePerInstance: i % 2 == 0 ? 25.0 / 3 * 0.2 : 25.0 / 3).Desired);
        }

        Assert.All(desired, d => Assert.Equal(3, d));
    }

    [Fact]
    public void A_fresh_autoscaler_does_not_scale_in_before_it_has_watched_a_whole_window()
    {
        var first = Step(current: 4, ratePerInstance: 0);

        Assert.Equal(4, first.Desired);
        Assert.Equal(1, first.Recommended);
    }
}
