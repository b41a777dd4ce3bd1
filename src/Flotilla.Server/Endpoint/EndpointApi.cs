using System.Net;
using System.Net.Sockets;
using Flotilla.Fleet;
using Flotilla.Fleet.Autoscaling;
using Flotilla.Fleet.Hosting;
using Flotilla.Pipelines.Steps;
using Flotilla.Server.Hosting;
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
        var flotilla = builder.Configuration.GetSection(FlotillaOptions.Section).Get<FlotillaOptions>() ?? new FlotillaOptions();
        var fleet = builder.Configuration.GetSection(FleetOptions.Section).Get<FleetOptions>() ?? new FleetOptions();
        builder.UseOrleans(silo =>
        {
            if (flotilla.Shape == DeploymentShape.Cluster)
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
        });
        builder.Services.AddSingleton<IServedModels, AliasServedModels>();
        var autoscaler = builder.Configuration.GetSection(AutoscalerOptions.Section).Get<AutoscalerOptions>() ?? new AutoscalerOptions();
        builder.Services.AddFlotillaAutoscaler(autoscaler,
            flotilla.Shape == DeploymentShape.Cluster && flotilla.PostgresConnectionString is { Length: > 0 } postgres
                ? new ClusterJoin(postgres, flotilla.DataDirectory, fleet.AdvertisedAddress)
                : null);
        return builder;
    }

    public static IEndpointRouteBuilder MapEndpointApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/endpoint", async (FleetClient fleet, AutoscalerStatus autoscaler, CancellationToken cancellationToken) =>
            TypedResults.Ok(EndpointView.From(fleet.Aliases, await fleet.SilosAsync(cancellationToken), autoscaler.Last)))
            .WithName("GetEndpoint")
            .WithSummary("The alias map, the instances, the models each holds, bytes used and cache counters.");

        app.MapGet("/api/registry/groups/{group}/deployments", async (string group, FleetClient fleet, CancellationToken cancellationToken) =>
            TypedResults.Ok(await fleet.HistoryAsync(group, cancellationToken)))
            .WithName("GetDeployments")
            .WithSummary("Which version served a group from when to when, and why (approval, rejection, manual).");

        app.MapGet("/api/registry/groups/{group}/deployments/failures", async (string group, FleetClient fleet, CancellationToken cancellationToken) =>
            TypedResults.Ok(await fleet.FailuresAsync(group, cancellationToken)))
            .WithName("GetDeploymentFailures")
            .WithSummary("Attempts to deploy a version of the group that failed (its model would not load), with the reason; the alias stayed where it was.");

        app.MapPut("/api/endpoint/aliases/{group}", async Task<IResult> (string group, PinRequest request, FleetClient fleet) =>
        {
            var outcome = await fleet.DeployManuallyAsync(group, request.Version);
            return outcome.Deployed
                ? TypedResults.Ok(outcome)
                : TypedResults.Problem(outcome.Message, statusCode: outcome.NotFound ? StatusCodes.Status404NotFound : StatusCodes.Status409Conflict,
                    title: "Not deployed");
        })
            .WithName("PinDeployment")
            .WithSummary("Deploys one approved version of a group by hand (reason: manual); the model is loaded before the alias moves.");

        app.MapGet("/metrics", async (FleetClient fleet, AutoscalerStatus autoscaler, CancellationToken cancellationToken) =>
            TypedResults.Text(PrometheusText.Write(fleet.Aliases, await fleet.SilosAsync(cancellationToken), autoscaler.Last),
                "text/plain; version=0.0.4; charset=utf-8"))
            .WithName("GetMetrics")
            .WithSummary("Fleet counters in the Prometheus text format.");
        return app;
    }

    internal sealed record PinRequest(int Version);

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
