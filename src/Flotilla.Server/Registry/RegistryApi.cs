namespace Flotilla.Server.Registry;

internal static class RegistryApi
{
    public static WebApplicationBuilder AddStorage(this WebApplicationBuilder builder) => builder;

    public static WebApplicationBuilder AddRegistry(this WebApplicationBuilder builder) => builder;

    public static IEndpointRouteBuilder MapRegistryApi(this IEndpointRouteBuilder app) => app;
}
