using Flotilla.Server.Identity;

namespace Flotilla.Server.Hosting;

internal static class HostingSetup
{
    public static WebApplicationBuilder AddFlotillaHosting(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<FlotillaOptions>()
            .BindConfiguration(FlotillaOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        // Registered before storage and the silo, so it runs before them.
        builder.Services.AddHostedService<ClusterPreflight>();
        // The contracts' source-generated metadata first; anything else (problem details' extensions) by reflection.
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.TypeInfoResolverChain.Insert(0, Contracts.FlotillaJson.Default));
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi(o => o.AddOperationTransformer<ProblemResponses>());
        builder.Services.AddSingleton(TimeProvider.System);
        return builder;
    }

    public static WebApplication UseFlotillaHosting(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapOpenApi().RequireAuthorization(Roles.Viewer);
        return app;
    }

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => TypedResults.Text("ok")).AllowAnonymous();
        return app;
    }
}
