using System.Data.Common;
using Flotilla.Fleet.Aliases;
using Flotilla.Fleet.Deployments;
using Flotilla.Fleet.Models;
using Flotilla.Fleet.Monitoring;
using Flotilla.Fleet.Observability;
using Flotilla.Fleet.Rollout;
using Flotilla.Registry.Events;
using Flotilla.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Runtime.Hosting;

namespace Flotilla.Fleet.Hosting;

public static partial class FleetSiloBuilderExtensions
{
    /// <summary>
    /// Makes this silo a member of the model fleet: its memory budget and counters, the alias cache, the
    /// placement that reaches a given silo and the directory that needs no other silo to find it there, the
    /// fleet's tables in the metadata store, and the deployer that follows registry events. Needs
    /// <c>AddFlotillaStorage</c> and the registry in the same container. Bind <see cref="FleetOptions"/> (section
    /// <see cref="FleetOptions.Section"/>) or configure it before.
    /// </summary>
    public static ISiloBuilder AddFlotillaFleet(this ISiloBuilder silo)
    {
        var services = silo.Services;
        services.AddOptions<FleetOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FleetOptions>, FleetOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ModelBudget>();
        services.AddSingleton<FleetMetrics>();
        services.AddSingleton<LocalModels>();
        services.TryAddSingleton<IModelScorer, ModelScorer>();
        services.AddSingleton<ModelRouter>();
        services.AddSingleton<AliasStore>();
        services.AddSingleton<AliasCache>();
        services.AddSingleton<FleetClient>();
        services.AddFlotillaMonitoring();
        services.AddFlotillaMigrations(AliasStore.Migrations);
        services.AddSingleton<RolloutStore>();
        services.AddFlotillaMigrations(RolloutStore.Migrations);
        services.AddOptions<RolloutOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RolloutOptions>, RolloutOptionsValidator>());
        services.AddHostedService<RolloutDriver>();
        services.AddSingleton<IRegistryEventSubscriber, Deployer>();
        services.AddHostedService<AliasRefresher>();
        services.AddSingleton<ShadowTraffic>();
        services.AddHostedService(sp => sp.GetRequiredService<ShadowTraffic>());
        silo.AddPlacementDirector<SiloTargetedPlacement, SiloTargetedPlacementDirector>();
        silo.AddPlacementDirector<ModelPlacement, ModelPlacementDirector>();
        silo.AddGrainDirectory(PinnedGrainDirectory.Name, (_, _) => new PinnedGrainDirectory());
        return silo;
    }

    /// <summary>
    /// Cluster membership in the metadata store (<see cref="MetadataMembershipTable"/>): every silo pointed at the
    /// same PostgreSQL database and <c>ClusterId</c> joins the same fleet.
    /// </summary>
    public static ISiloBuilder UseMetadataStoreClustering(this ISiloBuilder silo)
    {
        silo.Services.AddFlotillaMigrations(MetadataMembershipTable.Migrations);
        silo.Services.AddSingleton<IMembershipTable, MetadataMembershipTable>();
        silo.Services.AddOptions<ClusterMembershipOptions>().Configure<IOptions<FleetOptions>>((membership, fleet) =>
        {
            // A dead silo's calls already fail over (ModelRouter); this is how soon membership agrees it is gone.
            membership.ProbeTimeout = fleet.Value.ProbeTimeout;
            membership.NumMissedProbesLimit = fleet.Value.MissedProbesLimit;
        });
        return silo;
    }

    /// <summary>Fills the alias cache at start (so the first request already resolves groups) and re-reads it periodically.</summary>
    private sealed partial class AliasRefresher(AliasCache cache, IOptions<FleetOptions> options, TimeProvider time, ILogger<AliasRefresher> logger)
        : BackgroundService
    {
        public override async Task StartAsync(CancellationToken cancellationToken)
        {
            await cache.RefreshAsync(cancellationToken);
            await base.StartAsync(cancellationToken);
        }

        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            using var timer = new PeriodicTimer(options.Value.AliasRefreshInterval, time);
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await cache.RefreshAsync(stoppingToken);
                }
                catch (DbException e)
                {
                    // The database may be briefly unreachable; the cache keeps serving what it has and pushes still arrive.
                    LogRefreshFailed(e);
                }
            }
        }

        [LoggerMessage(Level = LogLevel.Warning, Message = "Re-reading the alias map from the metadata store failed; retrying at the next interval")]
        private partial void LogRefreshFailed(Exception exception);
    }
}
