using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotilla.Pipelines;
using Flotilla.Pipelines.Datasets;
using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Execution;
using Flotilla.Server.Identity;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Flotilla.Server.Pipelines;

/// <summary>
/// <c>/api/pipelines</c> (definitions) and <c>/api/executions</c> (runs, stop, trials, live events). Shapes are
/// plain camelCase JSON; errors are problem details, with an <c>errors</c> list of <c>{where, message}</c>
/// when a definition or parameters are refused.
/// </summary>
internal static class PipelinesApi
{
    public static WebApplicationBuilder AddPipelines(this WebApplicationBuilder builder)
    {
        // The data folder comes from the storage's options (Flotilla:DataDirectory), the rest from Flotilla:Pipelines.
        builder.Services.AddFlotillaPipelines(_ => { });
        builder.Services.AddOptions<PipelineOptions>().BindConfiguration(PipelineOptions.Section);
        builder.Services.AddOptions<DatasetSourceOptions>().BindConfiguration(DatasetSourceOptions.Section);
        builder.Services.AddHttpClient();
        builder.Services.AddHttpClient(UrlPolicy.ClientName)
            .ConfigurePrimaryHttpMessageHandler(services => services.GetRequiredService<UrlPolicy>().CreateHandler());
        return builder;
    }

    public static IEndpointRouteBuilder MapPipelinesApi(this IEndpointRouteBuilder app)
    {
        var pipelines = app.MapGroup("/api/pipelines").WithTags("Pipelines").AddEndpointFilter<DomainErrors>();
        pipelines.MapGet("/", ListPipelinesAsync).RequireAuthorization(Roles.Viewer);
        pipelines.MapPost("/", CreatePipelineAsync).RequireAuthorization(Roles.Operator).ProducesProblem(StatusCodes.Status409Conflict);
        pipelines.MapGet("/{pipeline}", GetPipelineAsync).RequireAuthorization(Roles.Viewer);
        pipelines.MapPost("/{pipeline}/executions", StartAsync).RequireAuthorization(Roles.Operator).RequireRateLimiting(RateLimits.ExecutionStarts);

        var executions = app.MapGroup("/api/executions").WithTags("Executions").AddEndpointFilter<DomainErrors>();
        executions.MapGet("/", ListExecutionsAsync).RequireAuthorization(Roles.Viewer);
        executions.MapGet("/{id}", GetExecutionAsync).RequireAuthorization(Roles.Viewer);
        executions.MapPost("/{id}/stop", StopAsync).RequireAuthorization(Roles.Operator).ProducesProblem(StatusCodes.Status409Conflict);
        executions.MapGet("/{id}/trials", TrialsAsync).RequireAuthorization(Roles.Viewer);
        executions.MapGet("/{id}/events", EventsAsync).RequireAuthorization(Roles.Viewer);
        return app;
    }

    private static async Task<Ok<IReadOnlyList<Contracts.Pipeline>>> ListPipelinesAsync(PipelineCatalog catalog, CancellationToken ct) =>
        TypedResults.Ok<IReadOnlyList<Contracts.Pipeline>>([.. (await catalog.ListAsync(ct)).Select(p => p.ToContract(withSource: false))]);

    private static async Task<Ok<Contracts.Pipeline>> GetPipelineAsync(string pipeline, PipelineCatalog catalog, CancellationToken ct) =>
        TypedResults.Ok((await catalog.GetAsync(pipeline, ct)).ToContract(withSource: true));

    /// <summary>
    /// The body is the definition itself: YAML (any text type) or JSON; or JSON <c>{"definition": "&lt;yaml or json text&gt;"}</c>.
    /// </summary>
    private static async Task<Results<Created<Contracts.Pipeline>, ProblemHttpResult>> CreatePipelineAsync(
        HttpRequest request, PipelineCatalog catalog, CancellationToken ct)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(ct);
        if (request.ContentType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true)
        {
            try
            {
                if (JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false }) is JsonObject o && o.Count == 1 && o["definition"] is JsonValue v && v.TryGetValue<string>(out var inner))
                {
                    text = inner;
                }
            }
            catch (JsonException)
            {
                // Not a wrapper: the definition reader judges the text itself, and names the line and column of
                // what is wrong (System.Text.Json gives no place for some errors, such as a duplicate key).
            }
        }

        // A Process step runs a command on the server: only an admin may define one.
        if (catalog.Read(text).HasProcessStep && !request.HttpContext.User.IsInRole(Roles.Admin))
        {
            return TypedResults.Problem(
                $"This definition has a Process step, which runs a command on the server; only a key with role '{Roles.Admin}' may define one.",
                statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", extensions: new Dictionary<string, object?> { ["requiredRole"] = Roles.Admin });
        }
        var stored = await catalog.CreateAsync(text, ct);
        return TypedResults.Created($"/api/pipelines/{stored.Definition.Name}", stored.ToContract(withSource: true));
    }

    private static async Task<Accepted<Contracts.ExecutionStarted>> StartAsync(
        string pipeline, Contracts.StartExecutionRequest? body, HttpContext http, Executions executions, CancellationToken ct)
    {
        var id = await executions.StartAsync(pipeline, body?.Parameters, ct);
        AuditActions.SetTarget(http, id);
        return TypedResults.Accepted($"/api/executions/{id}", new Contracts.ExecutionStarted(id, pipeline, Contracts.ExecutionStatus.Executing));
    }

    private static async Task<Ok<IReadOnlyList<Contracts.ExecutionSummary>>> ListExecutionsAsync(
        Executions executions, string? pipeline, ExecutionStatus? status, int? limit, CancellationToken ct) =>
        TypedResults.Ok<IReadOnlyList<Contracts.ExecutionSummary>>([.. (await executions.ListAsync(pipeline, status, limit ?? 100, ct)).Select(e => e.ToContract())]);

    private static async Task<Ok<Contracts.ExecutionDetail>> GetExecutionAsync(string id, Executions executions, CancellationToken ct) =>
        TypedResults.Ok((await executions.GetAsync(id, ct)).ToContract());

    private static async Task<Ok<IReadOnlyList<Contracts.ExecutionTrial>>> TrialsAsync(string id, Executions executions, CancellationToken ct) =>
        TypedResults.Ok<IReadOnlyList<Contracts.ExecutionTrial>>([.. (await executions.TrialsAsync(id, ct)).Select(t => t.ToContract())]);

    private static async Task<Accepted<Contracts.ExecutionDetail>> StopAsync(string id, Executions executions, CancellationToken ct) =>
        TypedResults.Accepted($"/api/executions/{id}", (await executions.StopAsync(id, ct)).ToContract());

    /// <summary>
    /// Server-sent events: first a <c>snapshot</c> (the whole execution) and a <c>trial</c> event for every trial
    /// recorded so far, then <c>step</c>, <c>trial</c> and <c>execution</c> events as they happen; the stream ends
    /// after the execution ends (a final snapshot). A client that connects late, or to another server of the
    /// cluster than the one that runs the execution, sees every trial once.
    /// </summary>
    private static async Task<ServerSentEventsResult<Contracts.ExecutionEvent>> EventsAsync(
        string id, Executions executions, IHostApplicationLifetime lifetime, CancellationToken ct)
    {
        await executions.GetAsync(id, ct);
        return TypedResults.ServerSentEvents(StreamAsync(id, executions, lifetime.ApplicationStopping, ct));
    }

    private static async IAsyncEnumerable<SseItem<Contracts.ExecutionEvent>> StreamAsync(
        string id, Executions executions, CancellationToken stopping, [EnumeratorCancellation] CancellationToken ct)
    {
        // Linked to shutdown: an open stream must not hold the server up for the 30 s shutdown timeout.
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, ct);
        // Subscribed before the store is read: a trial recorded after the read is published after it, so it is live.
        using var subscription = await executions.SubscribeAsync(id, linked.Token);
        var current = await executions.GetAsync(id, linked.Token);
        yield return Snapshot(current);
        var replayed = new HashSet<(string Step, int Number, string Status)>();
        foreach (var trial in await executions.TrialsAsync(id, linked.Token))
        {
            replayed.Add((trial.Step, trial.Number, trial.Status));
            yield return new(new ExecutionEvent("trial", id, trial.Step, trial.Status, Trial: trial).ToContract(), "trial");
        }
        while (!current.IsFinished && !linked.IsCancellationRequested)
        {
            using var tick = CancellationTokenSource.CreateLinkedTokenSource(linked.Token);
            tick.CancelAfter(TimeSpan.FromSeconds(2));
            var waited = false;
            try
            {
                waited = await subscription.Reader.WaitToReadAsync(tick.Token);
            }
            catch (OperationCanceledException) when (!linked.IsCancellationRequested)
            {
                // Quiet for a while: re-read below, in case the execution ended elsewhere.
            }
            catch (OperationCanceledException)
            {
                yield break;
            }

            while (waited && subscription.Reader.TryRead(out var e))
            {
                if (e.Trial is not { } trial || !replayed.Contains((trial.Step, trial.Number, trial.Status)))
                {
                    yield return new(e.ToContract(), e.Type);
                }
            }

            current = await executions.GetAsync(id, linked.Token);
        }

        if (current.IsFinished)
        {
            yield return Snapshot(current);
        }
    }

    private static SseItem<Contracts.ExecutionEvent> Snapshot(ExecutionDetail current) =>
        new(new(Contracts.ExecutionEvent.Snapshot, current.Id, Status: current.Status.ToString(), Execution: current.ToContract()), Contracts.ExecutionEvent.Snapshot);
}
