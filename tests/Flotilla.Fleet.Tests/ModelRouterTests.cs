using System.Diagnostics;
using Flotilla.Fleet.Models;
using Flotilla.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Flotilla.Fleet.Tests;

public sealed class ModelRouterTests
{
    private static readonly InvocationRequest CsvRow = new(TinyModels.Row, PayloadFormat.Csv, PayloadFormat.Csv);

    [Fact]
    public async Task Both_silos_agree_on_a_models_home_and_the_deployers_warm_loads_it_there_and_on_a_standby()
    {
        await using var fleet = await FleetCluster.StartAsync(silos: 2, hotModelCallsPerSecond: 0);
        var sha = await fleet.StoreAsync(TinyModels.Artifact(1));
        var routers = new[] { fleet.Silo(0).GetRequiredService<ModelRouter>(), fleet.Silo(1).GetRequiredService<ModelRouter>() };

        var home = routers[0].HomeOf(sha);
        var state = await routers[1].WarmAsync(sha, CancellationToken.None);

        Assert.Equal(home, routers[1].HomeOf(sha));
        Assert.Equal(home.ToString(), state.Silo);
        Assert.All(new[] { 0, 1 }, i => Assert.True(fleet.Silo(i).GetRequiredService<LocalModels>().TryGet(sha, out _), $"silo {i} holds a copy"));
    }

    [Fact]
    public async Task A_model_called_often_through_a_silo_that_does_not_hold_it_gets_a_copy_there_and_is_then_scored_locally()
    {
        await using var fleet = await FleetCluster.StartAsync(silos: 2, hotModelCallsPerSecond: 5);
        var sha = await fleet.StoreAsync(TinyModels.Artifact(2));
        var home = fleet.Silo(0).GetRequiredService<ModelRouter>().HomeOf(sha);
        var door = fleet.Cluster.Silos[0].SiloAddress.Equals(home) ? 1 : 0;
        var client = fleet.Silo(door).GetRequiredService<FleetClient>();
        var local = fleet.Silo(door).GetRequiredService<LocalModels>();

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(InvocationOutcome.Scored, (await client.InvokeAsync(sha, CsvRow)).Outcome);
        }
        await FleetCluster.EventuallyAsync(() => Task.FromResult(local.TryGet(sha, out _)), "the calling silo holds a copy of the hot model");

        Assert.Equal(InvocationOutcome.Scored, (await client.InvokeAsync(sha, CsvRow)).Outcome);
        Assert.True(fleet.Silo(1 - door).GetRequiredService<LocalModels>().TryGet(sha, out _), "the home still holds its copy");
    }

    [Fact]
    public async Task A_silo_suspected_by_one_call_releases_the_calls_still_waiting_on_it()
    {
        using var stall = new StallingScorer.Switch();
        await using var fleet = await FleetCluster.StartAsync(silos: 3, hotModelCallsPerSecond: 0, services: s => StallingScorer.Register(s, stall));
        var sha = await fleet.StoreAsync(TinyModels.Artifact(3));
        var home = fleet.Silo(0).GetRequiredService<ModelRouter>().HomeOf(sha);
        var door = (fleet.Cluster.Silos.ToList().FindIndex(s => s.SiloAddress.Equals(home)) + 1) % 3;
        var router = fleet.Silo(door).GetRequiredService<ModelRouter>();
        var attemptLimit = fleet.Silo(door).GetRequiredService<IOptions<FleetOptions>>().Value.InvocationAttemptTimeout;
        Assert.True((await router.WarmAsync(sha, CancellationToken.None)).Loaded);

        stall.Stall(home);
        var first = Stopwatch.StartNew();
        var caught = router.InvokeAsync(sha, CsvRow);
        await Task.Delay(attemptLimit * 0.6);
        var second = Stopwatch.StartNew();
        var late = await router.InvokeAsync(sha, CsvRow);
        second.Stop();
        var early = await caught;
        first.Stop();
        stall.Release();

        Assert.Equal((InvocationOutcome.Scored, InvocationOutcome.Scored), (early.Outcome, late.Outcome));
        Assert.True(first.Elapsed >= attemptLimit, $"the first call waited out its attempt ({first.Elapsed.TotalMilliseconds:F0} ms)");
        // Sent to the same silo 0.6 of a limit later, the second call is released by the first one's suspicion
        // instead of waiting out a limit of its own.
        Assert.True(second.Elapsed < attemptLimit * 0.8, $"the second call took {second.Elapsed.TotalMilliseconds:F0} ms (the first {first.Elapsed.TotalMilliseconds:F0} ms)");
    }
}
