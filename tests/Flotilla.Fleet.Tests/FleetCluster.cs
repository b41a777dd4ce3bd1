using System.Text.Json;
using Flotilla.Fleet.Aliases;
using Flotilla.Fleet.Hosting;
using Flotilla.Fleet.Models;
using Flotilla.Fleet.Topics;
using Flotilla.Fleet.Trials;
using Flotilla.Registry;
using Flotilla.Storage;
using Flotilla.Storage.Artifacts;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;
using Flotilla.Testing;

namespace Flotilla.Fleet.Tests;

/// <summary>
/// A real Orleans cluster of one or more silos in this process, each a full fleet member over one shared
/// SQLite metadata file and artifact folder (as cluster mode shares PostgreSQL and a bucket).
/// </summary>
public sealed class FleetCluster : IAsyncDisposable
{
    private FleetCluster(InProcessTestCluster cluster, string dataDirectory)
    {
        Cluster = cluster;
        DataDirectory = dataDirectory;
    }

    public InProcessTestCluster Cluster { get; }

    public string DataDirectory { get; }

    public IGrainFactory Grains => Cluster.Client;

    public IServiceProvider Silo(int index) => Cluster.Silos[index].ServiceProvider;

    /// <summary>The copy of model <paramref name="artifactSha256"/> on silo <paramref name="silo"/>, called through the cluster's client.</summary>
    public IModelGrain Model(string artifactSha256, int silo = 0) =>
        Grains.GetGrain<IModelGrain>(ModelKey.On(artifactSha256, Cluster.Silos[silo].SiloAddress));

    public ModelRegistry Registry => Silo(0).GetRequiredService<ModelRegistry>();

    public IArtifactStore Artifacts => Silo(0).GetRequiredService<IArtifactStore>();

    public static async Task<FleetCluster> StartAsync(
        int silos = 1, long budgetBytes = 64L << 20, int hotModelCallsPerSecond = 200, Action<IServiceCollection>? services = null)
    {
        var dataDirectory = Directory.CreateTempSubdirectory("flotilla-fleet-").FullName;
        var builder = new InProcessTestClusterBuilder((short)silos);
        builder.ConfigureSiloHost((_, host) =>
        {
            host.Services.AddFlotillaStorage(o => o.DataDirectory = dataDirectory);
            host.Services.AddFlotillaRegistry(o => o.PollInterval = TimeSpan.FromMilliseconds(100));
            host.Services.Configure<FleetOptions>(o =>
            {
                o.MemoryBudgetBytes = budgetBytes;
                o.AliasRefreshInterval = TimeSpan.FromMinutes(10);
                o.HotModelCallsPerSecond = hotModelCallsPerSecond;
            });
            services?.Invoke(host.Services);
        });
        builder.ConfigureSilo((_, silo) => silo.AddFlotillaFleet().AddFlotillaTrialWorkers().AddFlotillaTopics());
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new FleetCluster(cluster, dataDirectory);
    }

    public async Task<string> StoreAsync(byte[] artifact) =>
        (await Artifacts.PutAsync(artifact, CancellationToken.None)).Sha256;

    /// <summary>Stores the artifact and registers it as the next version of <paramref name="group"/>.</summary>
    public async Task<ModelPackage> RegisterAsync(string group, byte[] artifact, ApprovalStatus status = ApprovalStatus.PendingManualApproval)
    {
        var reference = await Artifacts.PutAsync(artifact, CancellationToken.None);
        using var empty = JsonDocument.Parse("{}");
        return await Registry.RegisterAsync(
            new RegisterModelPackage(group, reference, empty.RootElement.Clone(), empty.RootElement.Clone(), new PackageLineage(null, null, null), status),
            CancellationToken.None);
    }

    public AliasCache AliasCacheOf(int silo) => Silo(silo).GetRequiredService<AliasCache>();

    /// <summary>Waits until <paramref name="condition"/> holds, failing after a deadline (events travel through the outbox).</summary>
    public static Task EventuallyAsync(Func<Task<bool>> condition, string what, int seconds = 20) =>
        Eventually.TrueAsync(condition, what, TimeSpan.FromSeconds(seconds), TimeSpan.FromMilliseconds(20));

    public async ValueTask DisposeAsync()
    {
        await Cluster.StopAllSilosAsync();
        await Cluster.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
