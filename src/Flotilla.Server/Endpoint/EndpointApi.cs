namespace Flotilla.Server.Endpoint;

internal static class EndpointApi
{
    public static WebApplicationBuilder AddFleet(this WebApplicationBuilder builder) => builder;

    public static IEndpointRouteBuilder MapEndpointApi(this IEndpointRouteBuilder app) => app;

    public static IEndpointRouteBuilder MapInvocations(this IEndpointRouteBuilder app) => app;
}
