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
