using Flotilla.Server.BatchJobs;
using Flotilla.Server.Datasets;
using Flotilla.Server.Endpoint;
using Flotilla.Server.Hosting;
using Flotilla.Server.Identity;
using Flotilla.Server.Limits;
using Flotilla.Server.Monitoring;
using Flotilla.Server.Pipelines;
using Flotilla.Server.Registry;
using Flotilla.Server.Ui;

namespace Flotilla.Server;

/// <summary>
/// The whole server in one process: REST API, web UI, pipeline workers and an Orleans silo.
/// The CLI's <c>flotilla server</c> and <c>flotilla demo</c> and the tests all start it through here.
/// </summary>
public static class FlotillaServer
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddLoggingDefaults();
        builder.AddFlotillaHosting();
        builder.AddStorage();
        builder.AddIdentity();
        builder.AddRegistry();
        builder.AddPipelines();
        builder.AddFleet();
        builder.AddBatchJobs();
        builder.AddMonitoring();
        builder.AddRequestLimits();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseFlotillaHosting();
        app.UseRequestLimits();
        app.UseIdentity();
        app.MapHealth();
        app.MapKeysApi();
        app.MapAuditApi();
        app.MapDatasetsApi();
        app.MapPipelinesApi();
        app.MapRegistryApi();
        app.MapEndpointApi();
        app.MapRolloutApi();
        app.MapInvocations();
        app.MapBatchJobsApi();
        app.MapMonitoringApi();
        app.MapUi();
        return app;
    }
}
