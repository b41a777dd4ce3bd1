using Flotilla.Fleet.Autoscaling;
using Microsoft.Extensions.Time.Testing;

namespace Flotilla.Fleet.Tests.Autoscaling;

public sealed class InvocationRateTests
{
    [Fact]
    public void The_rate_per_instance_is_the_counters_difference_over_the_elapsed_time()
    {
        var time = new FakeTimeProvider();
        var rate = new InvocationRate();

        Assert.Null(rate.Observe(new Dictionary<string, long> { ["a"] = 100, ["b"] = 50 }, time.GetUtcNow()));
        time.Advance(TimeSpan.FromSeconds(10));
        var observed = rate.Observe(new Dictionary<string, long> { ["a"] = 300, ["b"] = 150 }, time.GetUtcNow());

        Assert.Equal(15, observed); // 300 invocations in 10 s over 2 instances
    }

    [Fact]
    public void A_new_silo_only_sets_its_baseline_and_a_restarted_one_counts_from_zero()
    {
        var time = new FakeTimeProvider();
        var rate = new InvocationRate();
        rate.Observe(new Dictionary<string, long> { ["a"] = 1000 }, time.GetUtcNow());
        time.Advance(TimeSpan.FromSeconds(1));

        var observed = rate.Observe(new Dictionary<string, long> { ["a"] = 40, ["b"] = 5000 }, time.GetUtcNow());

        Assert.Equal(20, observed); // a restarted (40 since zero), b is new; 40/s over 2 instances
    }
}
