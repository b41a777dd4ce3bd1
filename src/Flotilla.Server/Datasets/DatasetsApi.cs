namespace Flotilla.Server.Datasets;

internal static class DatasetsApi
{
    public static IEndpointRouteBuilder MapDatasetsApi(this IEndpointRouteBuilder app) => app;
}
