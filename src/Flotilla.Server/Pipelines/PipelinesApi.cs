namespace Flotilla.Server.Pipelines;

internal static class PipelinesApi
{
    public static WebApplicationBuilder AddPipelines(this WebApplicationBuilder builder) => builder;

    public static IEndpointRouteBuilder MapPipelinesApi(this IEndpointRouteBuilder app) => app;
}
