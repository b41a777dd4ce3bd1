using System.Net;
using System.Net.Sockets;
using Flotilla.Fleet;
using Flotilla.Fleet.Autoscaling;
using Flotilla.Fleet.Deployments;
using Flotilla.Fleet.Hosting;
using Flotilla.Pipelines.Steps;
using Flotilla.Server.Hosting;
using Flotilla.Server.Identity;
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
        });
        builder.Services.AddSingleton<IServedModels, AliasServedModels>();
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
        app.MapGet("/api/endpoint", async (FleetClient fleet, AutoscalerStatus autoscaler, CancellationToken cancellationToken) =>
            TypedResults.Ok(EndpointView.From(fleet.Aliases, await fleet.SilosAsync(cancellationToken), autoscaler.Last)))
            .WithName("GetEndpoint")
            .WithSummary("The alias map, the instances, the models each holds, bytes used and cache counters.")
            .RequireAuthorization(Roles.Viewer);

        app.MapGet("/api/registry/groups/{group}/deployments", async (string group, FleetClient fleet, CancellationToken cancellationToken) =>
            TypedResults.Ok(await fleet.HistoryAsync(group, cancellationToken)))
            .WithName("GetDeployments")
            .WithSummary("Which version served a group from when to when, and why (approval, rejection, manual).")
            .RequireAuthorization(Roles.Viewer);

        app.MapGet("/api/registry/groups/{group}/deployments/failures", async (string group, FleetClient fleet, CancellationToken cancellationToken) =>
            TypedResults.Ok(await fleet.FailuresAsync(group, cancellationToken)))
            .WithName("GetDeploymentFailures")
            .WithSummary("Attempts to deploy a version of the group that failed (its model would not load), with the reason; the alias stayed where it was.")
            .RequireAuthorization(Roles.Viewer);

        app.MapPut("/api/endpoint/aliases/{group}", async Task<IResult> (string group, PinRequest request, FleetClient fleet) =>
        {
            if (request.Problem() is { } problem)
            {
                return TypedResults.Problem(problem, statusCode: StatusCodes.Status400BadRequest, title: "Invalid alias");
            }
            var outcome = request.Routes is { } routes
                ? await fleet.SplitAsync(group, [.. routes.Select(r => new RouteWeight(r.Version, r.Weight))], request.StickyHeader)
                : await fleet.DeployManuallyAsync(group, request.Version!.Value);
            return outcome.Deployed
                ? TypedResults.Ok(outcome)
                : TypedResults.Problem(outcome.Message, statusCode: outcome.NotFound ? StatusCodes.Status404NotFound : StatusCodes.Status409Conflict,
                    title: "Not deployed");
        })
            .WithName("PinDeployment")
            .WithSummary("Deploys one approved version of a group by hand, or splits its calls across approved versions by weight (reason: manual); every model is loaded before the alias moves.")
            .RequireAuthorization(Roles.Approver)
            .ProducesProblem(StatusCodes.Status409Conflict);

        app.MapGet("/metrics", async (FleetClient fleet, AutoscalerStatus autoscaler, CancellationToken cancellationToken) =>
            TypedResults.Text(PrometheusText.Write(fleet.Aliases, await fleet.SilosAsync(cancellationToken), autoscaler.Last),
                "text/plain; version=0.0.4; charset=utf-8"))
            .WithName("GetMetrics")
            .WithSummary("Fleet counters in the Prometheus text format.")
            .RequireAuthorization(Roles.Viewer);
        return app;
    }

    /// <summary><c>{"version": n}</c>, or <c>{"routes": [{"version", "weight"}], "stickyHeader"?}</c>.</summary>
    internal sealed record PinRequest(int? Version, IReadOnlyList<RouteBody>? Routes, string? StickyHeader, System.Text.Json.JsonElement? Shadow)
    {
        private const int MaxRoutes = 10;

        /// <summary>What is wrong with the body, or null.</summary>
        public string? Problem()
        {
            if (Shadow is not null)
            {
                return "Shadow traffic is not available on this server yet; send {\"version\": n} or {\"routes\": [...]} without \"shadow\".";
            }
            if (Version is not null == Routes is not null)
            {
                return "Send either {\"version\": n} to pin one approved version, or {\"routes\": [{\"version\": 3, \"weight\": 90}, {\"version\": 4, \"weight\": 10}]} to split the calls.";
            }
            if (Routes is null)
            {
                return StickyHeader is null ? null : "stickyHeader applies to a split: send it with routes.";
            }
            if (Routes.Count is 0 or > MaxRoutes)
            {
                return $"routes must hold 1 to {MaxRoutes} versions (it has {Routes.Count}).";
            }
            if (Routes.FirstOrDefault(r => r.Weight is < 1 or > 1_000_000) is { } bad)
            {
                return $"routes: the weight of version {bad.Version} must be a whole number from 1 to 1,000,000 (was {bad.Weight}).";
            }
            if (Routes.GroupBy(r => r.Version).FirstOrDefault(g => g.Count() > 1) is { } twice)
            {
                return $"routes: version {twice.Key} is listed twice; give each version once with its weight.";
            }
            if (StickyHeader is not null && (StickyHeader.Length is 0 or > 64 || StickyHeader.AsSpan().ContainsAnyExcept(HeaderNameCharacters)))
            {
                return $"stickyHeader '{StickyHeader}' is not a header name: use 1 to 64 letters, digits and '-'.";
            }
            return null;
        }
    }

    internal sealed record RouteBody(int Version, int Weight);

    private static readonly System.Buffers.SearchValues<char> HeaderNameCharacters =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-");

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
