using System.Net;
using System.Net.Sockets;
using Flotilla.Fleet;
using Flotilla.Fleet.Autoscaling;
using Flotilla.Fleet.Deployments;
using Flotilla.Fleet.Hosting;
using Flotilla.Fleet.Rollout;
using Flotilla.Fleet.Topics;
using Flotilla.Fleet.Trials;
using Flotilla.Pipelines.Execution;
using Flotilla.Pipelines.Steps;
using Flotilla.Registry.Events;
using Flotilla.Server.Hosting;
using Flotilla.Server.Identity;
using Flotilla.Server.Monitoring;
using Flotilla.Server.Pipelines;
using Flotilla.Server.Registry;
using Flotilla.Storage;
using Orleans.Configuration;

namespace Flotilla.Server.Endpoint;

internal static class EndpointApi
{
    /// <summary>
    /// Hosts an Orleans silo in the server process. Embedded: one silo on loopback (free ports, so several
    /// servers and test fixtures can run side by side). Cluster: membership in the metadata store
    /// (<see cref="FleetSiloBuilderExtensions.UseMetadataStoreClustering"/>), one silo per server process.
    /// </summary>
    public static WebApplicationBuilder AddFleet(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<FleetOptions>().BindConfiguration(FleetOptions.Section);
        builder.Services.AddOptions<RolloutOptions>().BindConfiguration(RolloutOptions.Section);
        var (shape, fleet, autoscaler, storage) = SiloSettings.Read(builder.Configuration);
        builder.UseOrleans(silo =>
        {
            if (shape == DeploymentShape.Cluster)
            {
                // Membership in the metadata store (PostgreSQL in this shape): every server with the same
                // database and ClusterId joins the fleet.
                silo.UseMetadataStoreClustering();
                if (fleet.AdvertisedAddress is { Length: > 0 } advertised)
                {
                    silo.ConfigureEndpoints(advertised, fleet.SiloPort, fleet.GatewayPort);
                }
                else
                {
                    silo.ConfigureEndpoints(fleet.SiloPort, fleet.GatewayPort);
                }
                silo.Configure<ClusterOptions>(o =>
                {
                    o.ClusterId = fleet.ClusterId;
                    o.ServiceId = fleet.ServiceId;
                });
            }
            else
            {
                silo.UseLocalhostClustering(siloPort: FreeLoopbackPort(), gatewayPort: 0, serviceId: fleet.ServiceId, clusterId: fleet.ClusterId);
            }
            silo.AddFlotillaFleet();
            silo.AddFlotillaTrialWorkers();
            if (shape == DeploymentShape.Cluster)
            {
                // One process has its events in process already; servers of a cluster relay them to each other.
                silo.AddFlotillaTopics();
                silo.Services.AddSingleton<IExecutionEventsRelay, FleetEventsRelay>();
            }
        });
        builder.Services.AddSingleton<IServedModels, AliasServedModels>();
        builder.Services.AddSingleton<IRegistryEventSubscriber, RolloutAudit>();
        builder.Services.AddFlotillaAutoscaler(autoscaler,
            shape == DeploymentShape.Cluster && storage.PostgresConnectionString is { Length: > 0 } postgres
                ? new ClusterJoin(postgres, storage.DataDirectory, fleet.AdvertisedAddress)
                : null);
        return builder;
    }

    /// <summary>
    /// The settings the silo and the autoscaler are built from: Orleans takes its membership provider, ports and
    /// cluster ids while the host is being built, before any <c>IOptions</c> can be resolved. This is the server's
    /// one eager read of configuration. The same sections are also bound as options and validated at start
    /// (<c>FleetOptionsValidator</c>, <c>AutoscalerOptionsValidator</c>, <see cref="FlotillaOptionsValidator"/>),
    /// so a bad value still stops the start with its message.
    /// </summary>
    private sealed record SiloSettings(DeploymentShape Shape, FleetOptions Fleet, AutoscalerOptions Autoscaler, StorageOptions Storage)
    {
        public static SiloSettings Read(IConfiguration configuration) => new(
            configuration.GetValue($"{FlotillaOptions.Section}:{nameof(FlotillaOptions.Shape)}", DeploymentShape.Embedded),
            configuration.GetSection(FleetOptions.Section).Get<FleetOptions>() ?? new FleetOptions(),
            configuration.GetSection(AutoscalerOptions.Section).Get<AutoscalerOptions>() ?? new AutoscalerOptions(),
            configuration.GetSection(FlotillaOptions.Section).Get<StorageOptions>() ?? new StorageOptions());
    }

    public static IEndpointRouteBuilder MapEndpointApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/endpoint", async (FleetClient fleet, AutoscalerStatus autoscaler, RolloutStore rollouts, CancellationToken cancellationToken) =>
            TypedResults.Ok(EndpointViews.From(fleet.Aliases, await fleet.SilosAsync(cancellationToken), fleet.HomeOf, autoscaler.Last,
                await rollouts.LatestPerGroupAsync(cancellationToken))))
            .WithName("GetEndpoint")
            .WithSummary("The alias map, the instances, the models each holds, bytes used and cache counters.")
            .RequireAuthorization(Roles.Viewer);

        app.MapGet("/api/registry/groups/{group}/deployments", async (string group, FleetClient fleet, CancellationToken cancellationToken) =>
            TypedResults.Ok<IReadOnlyList<Contracts.DeploymentRecord>>([.. (await fleet.HistoryAsync(group, cancellationToken)).Select(r => r.ToContract())]))
            .WithName("GetDeployments")
            .WithSummary("Which version served a group from when to when, and why (approval, rejection, manual).")
            .RequireAuthorization(Roles.Viewer);

        app.MapGet("/api/registry/groups/{group}/deployments/failures", async (string group, FleetClient fleet, CancellationToken cancellationToken) =>
            TypedResults.Ok<IReadOnlyList<Contracts.DeploymentFailure>>([.. (await fleet.FailuresAsync(group, cancellationToken)).Select(f => f.ToContract())]))
            .WithName("GetDeploymentFailures")
            .WithSummary("Attempts to deploy a version of the group that failed (its model would not load), with the reason; the alias stayed where it was.")
            .RequireAuthorization(Roles.Viewer);

        app.MapPut("/api/endpoint/aliases/{group}", async Task<IResult> (string group, Contracts.PinRequest request, FleetClient fleet, CancellationToken cancellationToken) =>
        {
            if (PinRules.Problem(request) is { } problem)
            {
                return TypedResults.Problem(problem, statusCode: StatusCodes.Status400BadRequest, title: "Invalid alias");
            }
            var shadow = request.Shadow is { } s ? new ShadowWeight(s.Version, s.Percent) : null;
            var outcome = request.Routes is { } routes
                ? await fleet.SplitAsync(group, [.. routes.Select(r => new RouteWeight(r.Version, r.Weight))], request.StickyHeader, shadow, cancellationToken)
                : shadow is not null
                    ? await fleet.SplitAsync(group, request.Version is { } pinned ? [new RouteWeight(pinned, 1)] : [], request.StickyHeader, shadow, cancellationToken)
                    : await fleet.DeployManuallyAsync(group, request.Version!.Value, cancellationToken);
            return outcome.Deployed
                ? TypedResults.Ok(new Contracts.DeploymentOutcome(outcome.Deployed, outcome.Changed, outcome.NotFound, outcome.Message, outcome.Current?.ToContract()))
                : TypedResults.Problem(outcome.Message, statusCode: outcome.NotFound ? StatusCodes.Status404NotFound : StatusCodes.Status409Conflict,
                    title: "Not deployed");
        })
            .Produces<Contracts.DeploymentOutcome>()
            .WithName("PinDeployment")
            .WithSummary("Deploys one approved version of a group by hand, or splits its calls across approved versions by weight (reason: manual); every model is loaded before the alias moves.")
            .RequireAuthorization(Roles.Approver)
            .ProducesProblem(StatusCodes.Status409Conflict);

        app.MapGet("/metrics", async (
                FleetClient fleet, AutoscalerStatus autoscaler, RolloutStore rollouts, DriftWatch drift, RequestCapture capture, CancellationToken cancellationToken) =>
            TypedResults.Text(
                PrometheusText.Write(fleet.Aliases, await fleet.SilosAsync(cancellationToken), autoscaler.Last, await rollouts.LatestPerGroupAsync(cancellationToken))
                    + MonitoringMetrics.Write(drift.Latest, capture),
                "text/plain; version=0.0.4; charset=utf-8"))
            .WithName("GetMetrics")
            .WithSummary("Fleet counters in the Prometheus text format.")
            .RequireAuthorization(Roles.Viewer);
        return app;
    }

    /// <summary>
    /// Orleans needs a fixed silo port it can advertise; asking the OS for a free one lets any number of
    /// embedded servers share a machine. Nothing outside the process connects to it.
    /// </summary>
    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
