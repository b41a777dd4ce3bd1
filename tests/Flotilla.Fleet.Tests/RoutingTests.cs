using Flotilla.Testing;
using Flotilla.Fleet.Models;
using Flotilla.Fleet.Observability;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Fleet.Tests;

public sealed class RoutingTests
{
    [Fact]
    public async Task Calls_for_a_model_copy_from_any_silo_go_to_the_silo_its_key_names_which_loads_it_once()
    {
        await using var fleet = await FleetCluster.StartAsync(silos: 2);
        var models = new List<string>();
        for (var seed = 1; seed <= 4; seed++)
        {
            models.Add(await fleet.StoreAsync(TinyModels.Artifact(seed)));
        }
        var siloAddresses = fleet.Cluster.Silos.Select(s => s.SiloAddress.ToString()).ToArray();
        IGrainFactory FactoryOf(int silo) => fleet.Silo(silo).GetRequiredService<IGrainFactory>();

        // The copies are named alternately for each silo, and each is first asked for through the other silo.
        var keys = models.ToDictionary(sha => sha, sha => ModelKey.On(sha, fleet.Cluster.Silos[models.IndexOf(sha) % 2].SiloAddress));
        var holder = new Dictionary<string, string>();
        for (var i = 0; i < models.Count; i++)
        {
            holder[models[i]] = (await FactoryOf(1 - i % 2).GetGrain<IModelGrain>(keys[models[i]]).WarmAsync()).Silo;
        }
        for (var round = 0; round < 10; round++)
        {
            foreach (var sha in models)
            {
                var through = FactoryOf(round % 2).GetGrain<IModelGrain>(keys[sha]);
                Assert.Equal(InvocationOutcome.Scored, (await through.InvokeAsync(new InvocationRequest(TinyModels.Row, PayloadFormat.Csv, PayloadFormat.Csv))).Outcome);
                Assert.Equal(holder[sha], (await through.WarmAsync()).Silo);
            }
        }

        Assert.Equal(siloAddresses, models.Select((sha, i) => holder[sha]).Take(2));
        foreach (var sha in models)
        {
            var owner = Array.IndexOf(siloAddresses, holder[sha]);
            var ownerStats = fleet.Silo(owner).GetRequiredService<FleetMetrics>().For(sha).Snapshot(sha);
            var otherStats = fleet.Silo(1 - owner).GetRequiredService<FleetMetrics>().For(sha).Snapshot(sha);
            Assert.Equal((1L, 10L), (ownerStats.Loads, ownerStats.Hits));
            Assert.Equal((0L, 0L), (otherStats.Loads, otherStats.Hits));
            Assert.Contains(sha, fleet.Silo(owner).GetRequiredService<ModelBudget>().Snapshot().Select(m => m.ArtifactSha256));
            Assert.DoesNotContain(sha, fleet.Silo(1 - owner).GetRequiredService<ModelBudget>().Snapshot().Select(m => m.ArtifactSha256));
        }
    }
}
