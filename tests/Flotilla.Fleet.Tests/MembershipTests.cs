using System.Net;
using System.Net.Sockets;
using Flotilla.Fleet.Hosting;
using Flotilla.Fleet.Models;
using Flotilla.Registry;
using Flotilla.Storage;
using Flotilla.Storage.Artifacts;
using Flotilla.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace Flotilla.Fleet.Tests;

public sealed class MembershipTests
{
    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Servers_sharing_a_metadata_store_form_one_fleet_and_route_to_each_others_models(string backend)
    {
        var data = Directory.CreateTempSubdirectory("flotilla-membership-").FullName;
        var postgres = backend == "postgres" ? await (await PostgresServer.GetSharedAsync()).CreateDatabaseAsync("fleet") : null;
        var clusterId = $"test-{Guid.NewGuid():N}";
        var first = await StartSiloAsync(data, postgres, clusterId);
        var second = await StartSiloAsync(data, postgres, clusterId);
        try
        {
            var grainsOfFirst = first.Services.GetRequiredService<IGrainFactory>();
            var grainsOfSecond = second.Services.GetRequiredService<IGrainFactory>();
            await FleetCluster.EventuallyAsync(async () =>
                (await grainsOfFirst.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true)).Count == 2 &&
                (await grainsOfSecond.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true)).Count == 2,
                "both silos see each other as active");

            var sha = await first.Services.GetRequiredService<IArtifactStore>().PutAsync(TinyModels.Artifact(1), CancellationToken.None);
            var onFirst = ModelKey.On(sha.Sha256, first.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress);
            var placed = await grainsOfFirst.GetGrain<IModelGrain>(onFirst).WarmAsync();
            var viaSecond = await grainsOfSecond.GetGrain<IModelGrain>(onFirst).InvokeAsync(
                new InvocationRequest(TinyModels.Row, PayloadFormat.Csv, PayloadFormat.Csv));
            var stillThere = await grainsOfSecond.GetGrain<IModelGrain>(onFirst).WarmAsync();

            Assert.Equal(InvocationOutcome.Scored, viaSecond.Outcome);
            Assert.Equal(placed.Silo, stillThere.Silo);
            Assert.Equal(1, first.Services.GetRequiredService<ModelBudget>().Count);
            Assert.Equal(0, second.Services.GetRequiredService<ModelBudget>().Count);
        }
        finally
        {
            await second.StopAsync();
            await first.StopAsync();
            second.Dispose();
            first.Dispose();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task<IHost> StartSiloAsync(string data, string? postgres, string clusterId)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddFlotillaStorage(o =>
        {
            o.DataDirectory = data;
            o.PostgresConnectionString = postgres;
        });
        builder.Services.AddFlotillaRegistry();
        builder.UseOrleans(silo =>
        {
            silo.UseMetadataStoreClustering();
            silo.ConfigureEndpoints(IPAddress.Loopback, FreePort(), 0);
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = clusterId;
                o.ServiceId = "flotilla-test";
            });
            silo.AddFlotillaFleet();
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
