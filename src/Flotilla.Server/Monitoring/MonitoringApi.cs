using System.Globalization;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Flotilla.Fleet;
using Flotilla.Fleet.Monitoring;
using Flotilla.Server.Endpoint;
using Flotilla.Server.Identity;
using Flotilla.Server.Pipelines;
using Flotilla.Storage;
using Flotilla.Storage.Artifacts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Flotilla.Server.Monitoring;

/// <summary>
/// Watching served models: drift of a group's live inputs against its training profile, true labels fed back for
/// recent predictions, and the live metrics they give. Every silo counts the calls it scores; these routes merge
/// all silos' counts.
/// </summary>
internal static class MonitoringApi
{
    /// <summary>Labels one feedback request may carry.</summary>
    public const int MaxFeedbackLabels = 100_000;

    public static WebApplicationBuilder AddMonitoring(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<CaptureOptions>().BindConfiguration(CaptureOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddFlotillaMigrations(DriftEvents.Migrations);
        builder.Services.AddFlotillaMigrations(CaptureSettings.Migrations);
        builder.Services.AddFlotillaMigrations(CapturedFeedback.Migrations);
        builder.Services.AddSingleton<ModelSchemas>();
        builder.Services.AddSingleton<ICapturedFeedback, CapturedFeedback>();
        builder.Services.AddSingleton<CaptureSettings>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<CaptureSettings>());
        builder.Services.AddSingleton<RequestCapture>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RequestCapture>());
        builder.Services.AddSingleton<DriftEvents>();
        builder.Services.AddSingleton<DriftWatch>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DriftWatch>());
        return builder;
    }

    public static IEndpointRouteBuilder MapMonitoringApi(this IEndpointRouteBuilder app)
    {
        var groups = app.MapGroup("/api/endpoint/groups/{group}").WithTags("Monitoring").AddEndpointFilter<DomainErrors>();
        groups.MapGet("/drift", DriftAsync)
            .WithName("GetDrift")
            .WithSummary("The group's deployed version: live feature and score distributions over the window against its training profile, PSI per feature, the most drifted, and the drift state.")
            .RequireAuthorization(Roles.Viewer)
            .ProducesProblem(StatusCodes.Status409Conflict);
        groups.MapGet("/drift/events", async (string group, DriftEvents events, CancellationToken ct, int? limit) =>
            TypedResults.Ok(await events.ListAsync(group, Math.Clamp(limit ?? 100, 1, 1000), ct)))
            .WithName("GetDriftEvents")
            .WithSummary("The group's drift state changes, newest first, as announced to subscribers.")
            .RequireAuthorization(Roles.Viewer);
        groups.MapGet("/capture", CaptureAsync)
            .WithName("GetCapture")
            .WithSummary("The share of the group's calls captured (its own setting or the default) and what is stored.")
            .RequireAuthorization(Roles.Viewer);
        groups.MapPut("/capture", SetCaptureAsync)
            .WithName("SetCapture")
            .WithSummary("Sets the share of the group's calls captured, in percent ({\"percent\": 10}); {\"percent\": null} returns it to the default.")
            .RequireAuthorization(Roles.Operator);
        groups.MapGet("/live-metrics", async (string group, MonitorClient monitor, CancellationToken ct) =>
            TypedResults.Ok(await monitor.GetAllAsync(group, ct)))
            .WithName("GetLiveMetrics")
            .WithSummary("Per version of the group: rows scored, labelled rows fed back in the window, and their AUC, accuracy, Brier score and reliability curve.")
            .RequireAuthorization(Roles.Viewer);

        app.MapPost("/models/{group}/feedback", FeedbackAsync)
            .WithName("PostFeedback")
            .WithTags("Monitoring")
            .WithSummary("True labels for answered calls: JSON [{\"requestId\", \"label\", \"row\"?}] or CSV with a header requestId,label[,row]; joined to the group's recent predictions.")
            .Accepts<FeedbackItem[]>("application/json", "text/csv")
            .RequireAuthorization(Roles.Invoker)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<Results<Ok<DriftReport>, ProblemHttpResult>> DriftAsync(string group, MonitorClient monitor, CancellationToken ct)
    {
        var answer = await monitor.DriftAsync(group, ct);
        return answer switch
        {
            { Report: { } report } => TypedResults.Ok(report),
            { Refusal: DriftRefusal.NoProfile } => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "No training profile",
                detail: $"The deployed version {answer.PackageId} was registered without a training profile, so there is nothing to compare live traffic with. " +
                        "Versions registered by the built-in pipeline from now on carry one; run the pipeline again and deploy the new version."),
            _ => TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not deployed",
                detail: $"Group '{group}' has no deployed version on the endpoint; drift is measured for deployed groups (GET /api/endpoint lists them)."),
        };
    }

    private static async Task<Results<Ok<FeedbackOutcome>, ProblemHttpResult>> FeedbackAsync(
        string group, HttpRequest request, ClaimsPrincipal user, FleetClient fleet, MonitorClient monitor, Flotilla.Registry.ModelRegistry registry, CancellationToken ct)
    {
        if (!InvokerScope.Permits(user, group, "", fleet))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: InvokerScope.Refusal(user));
        }
        if (await registry.GetGroupAsync(group, ct) is null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Unknown group",
                detail: $"No model package group '{group}'. List groups with GET /api/registry/groups.");
        }
        string body;
        using (var reader = new StreamReader(request.Body, Encoding.UTF8))
        {
            body = await reader.ReadToEndAsync(ct);
        }
        var csv = request.ContentType?.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase) == true
            || (request.ContentType is null && !body.AsSpan().TrimStart().StartsWith("["));
        var (labels, problem) = csv ? FeedbackParsing.Csv(body) : FeedbackParsing.Json(body);
        if (problem is not null)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid feedback", detail: problem);
        }
        return TypedResults.Ok(await monitor.FeedbackAsync(group, labels!, ct));
    }

    private static async Task<Ok<Contracts.CaptureView>> CaptureAsync(string group, CaptureSettings settings, IArtifactStore store, Flotilla.Registry.ModelRegistry registry, CancellationToken ct)
    {
        if (await registry.GetGroupAsync(group, ct) is null)
        {
            throw new Flotilla.Pipelines.Execution.NotFoundException($"No model package group '{group}'. List groups with GET /api/registry/groups.");
        }
        long bytes = 0, objects = 0;
        await foreach (var o in store.ListObjectsAsync($"{RequestCapture.Prefix}{group}/", ct))
        {
            bytes += o.Size;
            objects++;
        }
        return TypedResults.Ok(new Contracts.CaptureView(group, settings.PercentOf(group), settings.HasOwnSetting(group), $"{RequestCapture.Prefix}{group}/", objects, bytes));
    }

    private static async Task<Results<Ok<Contracts.CaptureView>, ProblemHttpResult>> SetCaptureAsync(
        string group, Contracts.CaptureSetting? body, ClaimsPrincipal user, CaptureSettings settings, IArtifactStore store, Flotilla.Registry.ModelRegistry registry, CancellationToken ct)
    {
        if (body is null || body.Percent is < 0 or > 100 || body.Percent is { } p && !double.IsFinite(p))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid capture setting",
                detail: "Send {\"percent\": n} with n from 0 to 100 (the share of calls captured), or {\"percent\": null} to follow Flotilla:Endpoint:Capture:Percent.");
        }
        if (await registry.GetGroupAsync(group, ct) is null)
        {
            throw new Flotilla.Pipelines.Execution.NotFoundException($"No model package group '{group}'. List groups with GET /api/registry/groups.");
        }
        await settings.SetAsync(group, body.Percent, Principals.NameOf(user), ct);
        return TypedResults.Ok((await CaptureAsync(group, settings, store, registry, ct)).Value!);
    }

    /// <summary>One true label, as posted: the answer's request id, the label (one of the model's labels), and which row of the call (0 for the first).</summary>
    internal sealed record FeedbackItem(string RequestId, string Label, int? Row);
}

/// <summary>Reads feedback bodies, naming the item or line and field of the first problem.</summary>
internal static class FeedbackParsing
{
    private const string Shape = "Send [{\"requestId\": \"…\", \"label\": \"…\", \"row\": 0}] (row optional, 0 for a one-row call) or CSV with a header requestId,label[,row].";

    public static (List<FeedbackLabel>?, string?) Json(string body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            return (null, $"The body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}). {Shape}");
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                return (null, $"The body must be a JSON array, not {document.RootElement.ValueKind}. {Shape}");
            }
            var labels = new List<FeedbackLabel>();
            var index = 0;
            foreach (var item in document.RootElement.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object)
                {
                    return (null, $"item {index}: expected an object, not {item.ValueKind}. {Shape}");
                }
                var requestId = item.TryGetProperty("requestId", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null;
                var label = item.TryGetProperty("label", out var l) ? l.ValueKind switch
                {
                    JsonValueKind.String => l.GetString(),
                    JsonValueKind.Number => l.GetRawText(),
                    JsonValueKind.True => "true",
                    JsonValueKind.False => "false",
                    _ => null,
                } : null;
                var row = 0;
                if (item.TryGetProperty("row", out var r) && r.ValueKind != JsonValueKind.Null && (!r.TryGetInt32(out row) || row < 0))
                {
                    return (null, $"item {index}, field 'row': expected a whole number ≥ 0.");
                }
                if (Check(requestId, label, $"item {index}") is { } problem)
                {
                    return (null, problem);
                }
                labels.Add(new FeedbackLabel(requestId!, row, label!));
                if (++index > MonitoringApi.MaxFeedbackLabels)
                {
                    return (null, $"More than {MonitoringApi.MaxFeedbackLabels:N0} labels: send them in several requests.");
                }
            }
            return (labels, null);
        }
    }

    public static (List<FeedbackLabel>?, string?) Csv(string body)
    {
        var lines = body.TrimStart('\uFEFF').Split('\n');
        var header = Fields(lines[0]);
        if (header is null)
        {
            return (null, $"line 1: an unclosed quote. {Shape}");
        }
        var idColumn = header.FindIndex(h => h.Equals("requestId", StringComparison.OrdinalIgnoreCase));
        var labelColumn = header.FindIndex(h => h.Equals("label", StringComparison.OrdinalIgnoreCase));
        var rowColumn = header.FindIndex(h => h.Equals("row", StringComparison.OrdinalIgnoreCase));
        if (idColumn < 0 || labelColumn < 0)
        {
            return (null, $"line 1: the header must name the columns requestId and label. {Shape}");
        }
        var labels = new List<FeedbackLabel>();
        for (var i = 1; i < lines.Length; i++)
        {
            var line = i + 1;
            if (lines[i].TrimEnd('\r').Length == 0)
            {
                continue;
            }
            var fields = Fields(lines[i]);
            if (fields is null)
            {
                return (null, $"line {line}: an unclosed quote (a quoted value cannot span lines here).");
            }
            if (fields.Count != header.Count)
            {
                return (null, $"line {line}: {fields.Count} values, but the header has {header.Count}.");
            }
            var row = 0;
            if (rowColumn >= 0 && fields[rowColumn].Length > 0 &&
                !int.TryParse(fields[rowColumn], NumberStyles.None, CultureInfo.InvariantCulture, out row))
            {
                return (null, $"line {line}, column 'row': expected a whole number ≥ 0.");
            }
            if (Check(fields[idColumn], fields[labelColumn], $"line {line}") is { } problem)
            {
                return (null, problem);
            }
            labels.Add(new FeedbackLabel(fields[idColumn], row, fields[labelColumn]));
            if (labels.Count > MonitoringApi.MaxFeedbackLabels)
            {
                return (null, $"More than {MonitoringApi.MaxFeedbackLabels:N0} labels: send them in several requests.");
            }
        }
        return (labels, null);
    }

    /// <summary>One CSV line's values, trimmed, quotes removed ("" inside quotes is a quote); null for an unclosed quote.</summary>
    private static List<string>? Fields(string line)
    {
        var fields = new List<string>();
        var value = new StringBuilder();
        var quoted = false;
        line = line.TrimEnd('\r');
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    value.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    value.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(value.ToString().Trim());
                value.Clear();
            }
            else
            {
                value.Append(c);
            }
        }
        fields.Add(value.ToString().Trim());
        return quoted ? null : fields;
    }

    private static string? Check(string? requestId, string? label, string where) =>
        string.IsNullOrEmpty(requestId) || requestId.Length > 128 ? $"{where}, field 'requestId': expected the request id of an answered call (1 to 128 characters)."
        : string.IsNullOrWhiteSpace(label) || label.Length > 256 ? $"{where}, field 'label': expected the true label (one of the model's labels)."
        : null;
}
