using Flotilla.Pipelines.Datasets;
using Flotilla.Server.Identity;
using Flotilla.Server.Pipelines;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Flotilla.Server.Datasets;

/// <summary>
/// <c>/api/datasets</c>: register a CSV by path or http(s) URL (JSON; a URL is downloaded into the data folder) or by upload (multipart: fields name, target, exclude as
/// comma-separated names, and the file), list, show. A dataset is accepted only after its CSV was read in full.
/// </summary>
internal static class DatasetsApi
{
    internal sealed record RegisterRequest(string? Name, string? Path, string? Target, IReadOnlyList<string>? Exclude);

    public static IEndpointRouteBuilder MapDatasetsApi(this IEndpointRouteBuilder app)
    {
        var datasets = app.MapGroup("/api/datasets").WithTags("Datasets").AddEndpointFilter<DomainErrors>();
        datasets.MapPost("/", RegisterAsync).DisableAntiforgery().RequireAuthorization(Roles.Operator);
        datasets.MapGet("/", async (DatasetCatalog catalog, CancellationToken ct) => TypedResults.Ok(await catalog.ListAsync(ct)))
            .RequireAuthorization(Roles.Viewer);
        datasets.MapGet("/{name}", async (string name, DatasetCatalog catalog, CancellationToken ct) => TypedResults.Ok(await catalog.GetAsync(name, ct)))
            .RequireAuthorization(Roles.Viewer);
        datasets.MapDelete("/{name}", async (string name, DatasetCatalog catalog, CancellationToken ct) =>
        {
            await catalog.DeleteAsync(name, ct);
            return TypedResults.NoContent();
        }).RequireAuthorization(Roles.Operator);
        return app;
    }

    private static async Task<Results<Created<Dataset>, ProblemHttpResult>> RegisterAsync(
        HttpRequest request, DatasetCatalog catalog, IHttpClientFactory http, CancellationToken ct)
    {
        Dataset dataset;
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(ct);
            var file = form.Files.GetFile("file") ?? form.Files.FirstOrDefault();
            var name = form["name"].ToString();
            var target = form["target"].ToString();
            var exclude = form["exclude"].SelectMany(x => (x ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
            if (file is null)
            {
                return TypedResults.Problem(statusCode: 400, title: "No file", detail: "A multipart upload needs the CSV in a part named 'file', and fields 'name' and 'target'.");
            }
            await using var stream = file.OpenReadStream();
            dataset = await catalog.UploadAsync(name, stream, target, exclude, ct);
        }
        else
        {
            RegisterRequest? body;
            try
            {
                body = await request.ReadFromJsonAsync<RegisterRequest>(ct);
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
            {
                return TypedResults.Problem(statusCode: 400, title: "Invalid body",
                    detail: $"Expected JSON {{\"name\", \"path\", \"target\", \"exclude\": [columns]}} or a multipart CSV upload: {e.Message}");
            }
            if (body?.Name is null)
            {
                return TypedResults.Problem(statusCode: 400, title: "Invalid body", detail: "'name' is required.");
            }
            dataset = Uri.TryCreate(body.Path, UriKind.Absolute, out var url) && url.Scheme is "http" or "https"
                ? await catalog.DownloadAsync(body.Name, url, body.Target ?? "", body.Exclude, http.CreateClient(UrlPolicy.ClientName), ct)
                : await catalog.RegisterAsync(body.Name, body.Path ?? "", body.Target ?? "", body.Exclude, ct);
        }
        return TypedResults.Created($"/api/datasets/{dataset.Name}", dataset);
    }
}
