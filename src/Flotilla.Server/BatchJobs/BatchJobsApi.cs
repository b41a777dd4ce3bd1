using System.Security.Claims;
using System.Text.RegularExpressions;
using Flotilla.Contracts;
using Flotilla.Fleet.Aliases;
using Flotilla.Learning.Artifacts;
using Flotilla.Pipelines.Datasets;
using Flotilla.Pipelines.Execution;
using Flotilla.Registry;
using Flotilla.Server.Identity;
using Flotilla.Server.Pipelines;
using Flotilla.Storage;
using Flotilla.Storage.Artifacts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Flotilla.Server.BatchJobs;

/// <summary>
/// <c>/api/batch-jobs</c>: score a registered dataset with a group's deployed version or a named package, follow the
/// job, cancel it, download the result CSV (the input's columns plus label and probability).
/// </summary>
internal static partial class BatchJobsApi
{
    public static WebApplicationBuilder AddBatchJobs(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<BatchJobOptions>().BindConfiguration(BatchJobOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddFlotillaMigrations(BatchJobSchema.Migrations);
        builder.Services.AddSingleton<BatchJobStore>();
        builder.Services.AddSingleton<BatchJobWorker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<BatchJobWorker>());
        return builder;
    }

    public static IEndpointRouteBuilder MapBatchJobsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/batch-jobs").WithTags("Batch jobs").AddEndpointFilter<DomainErrors>();
        api.MapPost("/", CreateAsync).RequireAuthorization(Roles.Operator);
        api.MapGet("/", async (BatchJobStore jobs, CancellationToken ct, int? limit) => TypedResults.Ok<IReadOnlyList<BatchJob>>([.. (await jobs.ListAsync(Math.Clamp(limit ?? 100, 1, 1000), ct))]))
            .RequireAuthorization(Roles.Viewer);
        api.MapGet("/{id}", async (string id, BatchJobStore jobs, CancellationToken ct) => TypedResults.Ok(await GetAsync(jobs, id, ct)))
            .RequireAuthorization(Roles.Viewer);
        api.MapPost("/{id}/cancel", CancelAsync).RequireAuthorization(Roles.Operator);
        api.MapGet("/{id}/result", ResultAsync).RequireAuthorization(Roles.Viewer);
        return app;
    }

    // A plain file name: what the download is called, never where anything is written.
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    private static partial Regex PlainName();

    private static async Task<Results<Accepted<BatchJob>, ProblemHttpResult>> CreateAsync(
        CreateBatchJobRequest? body, ClaimsPrincipal user, BatchJobStore jobs, BatchJobWorker worker, DatasetCatalog datasets, AliasStore aliases,
        ModelRegistry registry, IArtifactStore artifacts, CancellationToken ct)
    {
        if (body is null || string.IsNullOrWhiteSpace(body.Dataset) || string.IsNullOrWhiteSpace(body.Group) == string.IsNullOrWhiteSpace(body.Package))
        {
            return Invalid("Expected {\"group\" or \"package\" (one of them), \"dataset\", \"outputName\"?}: the model by its group's deployed version " +
                "or by package id (<group>-v<version>), and a registered dataset's name.");
        }
        var outputName = string.IsNullOrWhiteSpace(body.OutputName) ? $"{body.Dataset}-scored" : body.OutputName;
        if (!PlainName().IsMatch(outputName))
        {
            return Invalid($"'outputName' must be a plain name of up to 100 letters, digits, '.', '_' or '-' starting with a letter or digit, not '{outputName}': " +
                "the server chooses where the result is stored.");
        }

        string packageId, sha256;
        if (body.Group is { Length: > 0 } group)
        {
            var deployment = await aliases.GetAsync(group, ct)
                ?? throw new NotFoundException($"Group '{group}' has no deployed version. Approve one (flotilla approve PACKAGE), or name a package instead.");
            (packageId, sha256) = (deployment.PackageId, deployment.ArtifactSha256);
        }
        else
        {
            var package = await registry.GetPackageAsync(body.Package!, ct) ?? throw new NotFoundException(new ModelPackageNotFoundException(body.Package!).Message);
            (packageId, sha256) = (package.Id, package.Artifact.Sha256);
        }

        var dataset = await datasets.GetAsync(body.Dataset, ct);
        var model = ModelArtifact.Load(await artifacts.ReadVerifiedAsync(sha256, ct), sha256);
        try
        {
            using var header = new StreamReader(await datasets.LocalPathAsync(dataset, ct));
            await CsvScoring.CheckColumnsAsync(model, header, $"Dataset '{dataset.Name}'", ct);
        }
        catch (ColumnMismatchException e)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "The dataset does not match the model", detail: e.Message,
                extensions: new Dictionary<string, object?> { ["missingColumns"] = e.Missing, ["columns"] = e.Found });
        }
        catch (IOException e)
        {
            throw new DatasetException($"Dataset '{dataset.Name}': its file cannot be read ({e.GetType().Name}). Register it again.", e);
        }

        var job = await jobs.CreateAsync(body.Group is { Length: > 0 } ? body.Group : null, packageId, sha256, dataset.Name, outputName,
            dataset.RowCount, Principals.NameOf(user), ct);
        worker.Wake();
        return TypedResults.Accepted($"/api/batch-jobs/{job.Id}", job);
    }

    private static async Task<BatchJob> GetAsync(BatchJobStore jobs, string id, CancellationToken ct) =>
        await jobs.FindAsync(id, ct) ?? throw new NotFoundException($"No batch job '{id}'. List them with GET /api/batch-jobs.");

    private static async Task<Accepted<BatchJob>> CancelAsync(string id, ClaimsPrincipal user, BatchJobStore jobs, BatchJobWorker worker, CancellationToken ct)
    {
        var job = await GetAsync(jobs, id, ct);
        if (!await jobs.CancelAsync(id, Principals.NameOf(user), ct))
            throw new ConflictException($"Batch job '{id}' already ended ({(await GetAsync(jobs, id, ct)).Status}); there is nothing to cancel.");
        worker.CancelLocal(job.Id);
        return TypedResults.Accepted($"/api/batch-jobs/{id}", await GetAsync(jobs, id, ct));
    }

    private static async Task<FileStreamHttpResult> ResultAsync(string id, BatchJobStore jobs, IArtifactStore artifacts, CancellationToken ct)
    {
        var job = await GetAsync(jobs, id, ct);
        if (job is not { Status: BatchJobStatus.Succeeded, ResultSha256: { } result })
        {
            throw new ConflictException(
                $"Batch job '{id}' is {job.Status}{(job.FailureReason is null ? "" : $" ({job.FailureReason})")}: a result exists only once it Succeeded.");
        }
        var name = job.OutputName.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? job.OutputName : $"{job.OutputName}.csv";
        return TypedResults.Stream(await artifacts.OpenReadAsync(result, ct), "text/csv", name);
    }

    private static ProblemHttpResult Invalid(string detail) => TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid batch job", detail: detail);
}
