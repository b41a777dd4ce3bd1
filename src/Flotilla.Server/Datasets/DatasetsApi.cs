using Flotilla.Pipelines.Datasets;
using Flotilla.Server.Identity;
using Flotilla.Server.Pipelines;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Flotilla.Server.Datasets;

/// <summary>
/// <c>/api/datasets</c>: register a CSV by path, http(s) URL or s3:// URI (JSON; a URL or S3 object is copied into the artifact store) or by upload (multipart: fields name, target, exclude as
/// comma-separated names, and the file), list, show. A dataset is accepted only after its CSV was read in full; one
/// without a target is for batch scoring only.
/// </summary>
internal static class DatasetsApi
{
    public static IEndpointRouteBuilder MapDatasetsApi(this IEndpointRouteBuilder app)
    {
        var datasets = app.MapGroup("/api/datasets").WithTags("Datasets").AddEndpointFilter<DomainErrors>();
        datasets.MapPost("/", RegisterAsync).DisableAntiforgery().RequireAuthorization(Roles.Operator);
        datasets.MapGet("/", async (DatasetCatalog catalog, CancellationToken ct) => TypedResults.Ok<IReadOnlyList<Contracts.Dataset>>([.. (await catalog.ListAsync(ct)).Select(d => d.ToContract())]))
            .RequireAuthorization(Roles.Viewer);
        datasets.MapGet("/{name}", async (string name, DatasetCatalog catalog, CancellationToken ct) => TypedResults.Ok((await catalog.GetAsync(name, ct)).ToContract()))
            .RequireAuthorization(Roles.Viewer);
        datasets.MapDelete("/{name}", async (string name, DatasetCatalog catalog, CancellationToken ct) =>
        {
            await catalog.DeleteAsync(name, ct);
            return TypedResults.NoContent();
        }).RequireAuthorization(Roles.Operator);
        return app;
    }

    private static async Task<Results<Created<Contracts.Dataset>, ProblemHttpResult>> RegisterAsync(
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
                return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "No file", detail: "A multipart upload needs the CSV in a part named 'file', and fields 'name' and 'target' (leave 'target' out for a file that is only scored).");
            }
            await using var stream = file.OpenReadStream();
            dataset = await catalog.UploadAsync(name, stream, target, exclude, ct);
        }
        else
        {
            Contracts.RegisterDatasetRequest? body;
            try
            {
                body = await request.ReadFromJsonAsync(Contracts.FlotillaJson.Default.RegisterDatasetRequest, ct);
            }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid body",
                    detail: $"Expected JSON {{\"name\", \"path\", \"target\", \"exclude\": [columns]}} or a multipart CSV upload: {e.Message}");
            }
            if (body?.Name is null)
            {
                return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid body", detail: "'name' is required.");
            }
            dataset = Uri.TryCreate(body.Path, UriKind.Absolute, out var url) && url.Scheme is "http" or "https"
                ? await catalog.DownloadAsync(body.Name, url, body.Target ?? "", body.Exclude, http.CreateClient(UrlPolicy.ClientName), ct)
                : url?.Scheme == "s3"
                    ? await catalog.ImportS3Async(body.Name, body.Path!, body.Target ?? "", body.Exclude, ct)
                    : await catalog.RegisterAsync(body.Name, body.Path ?? "", body.Target ?? "", body.Exclude, ct);
        }
        return TypedResults.Created($"/api/datasets/{dataset.Name}", dataset.ToContract());
    }
}
