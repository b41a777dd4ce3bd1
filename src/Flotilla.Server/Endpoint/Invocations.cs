using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Flotilla.Fleet;
using Flotilla.Fleet.Models;
using Flotilla.Fleet.Rollout;
using Flotilla.Server.Monitoring;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace Flotilla.Server.Endpoint;

/// <summary>
/// The three front doors of the multi-model endpoint. They are plain request delegates (no parameter
/// binding, no intermediate objects) because they are the hot path: resolve the target in this process's
/// alias cache, make one grain call, write the bytes the grain formatted. Every answer carries a request id
/// (the caller's, or a new one) and a scored one the version that produced it.
/// </summary>
internal static class Invocations
{
    private const string TargetHeader = "X-Target-Model";
    private const string RequestIdHeader = "X-Flotilla-Request-Id";
    private const string VersionHeader = "X-Flotilla-Model-Version";

    /// <summary>
    /// Bounds on a caller's request id: it is echoed in headers and bodies and later joined with feedback, so it
    /// must be short and need no escaping anywhere.
    /// </summary>
    private const int MaxRequestIdLength = 128;

    private static readonly SearchValues<char> RequestIdCharacters =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:");

    public static IEndpointRouteBuilder MapInvocations(this IEndpointRouteBuilder app)
    {
        app.MapPost("/invocations", InvokeByHeaderAsync)
            .WithName("InvokeByTargetHeader")
            .WithSummary("Scores rows with the model named by the X-Target-Model header (an artifact SHA-256 or a group).")
            .ForInvokers(app);
        app.MapPost("/models/{group}/invocations", InvokeGroupAsync)
            .WithName("InvokeGroup")
            .WithSummary("Scores rows with the version currently deployed for a group.")
            .ForInvokers(app);
        app.MapPost("/invoke", InvokeReferencePayloadAsync)
            .WithName("InvokeReferencePayload")
            .WithSummary("The reference's front door: {\"model\": \"<pipeline>-<dataset>\", \"data\": \"<csv rows>\"}.")
            .ForInvokers(app);
        return app;
    }

    private static Task InvokeByHeaderAsync(HttpContext context)
    {
        if (!TakeRequestId(context, out var requestId))
        {
            return InvalidRequestIdAsync(context);
        }
        var target = context.Request.Headers[TargetHeader].ToString();
        if (target.Length == 0)
        {
            return ProblemAsync(context, StatusCodes.Status400BadRequest, "Missing target model",
                $"Name the model in the {TargetHeader} header: an artifact SHA-256 or a deployed group name.");
        }
        return InvokeAsync(context, target, requestId);
    }

    private static Task InvokeGroupAsync(HttpContext context) =>
        TakeRequestId(context, out var requestId)
            ? InvokeAsync(context, (string)context.Request.RouteValues["group"]!, requestId)
            : InvalidRequestIdAsync(context);

    private static async Task InvokeAsync(HttpContext context, string target, string requestId)
    {
        var fleet = context.RequestServices.GetRequiredService<FleetClient>();
        if (!Resolve(context, fleet, target, out var sha256, out var version))
        {
            await (InvokerScope.Permits(context.User, target, "", fleet) ? UnknownModelAsync(context, target) : ForbiddenAsync(context));
            return;
        }
        if (!InvokerScope.Permits(context.User, target, sha256, fleet))
        {
            await ForbiddenAsync(context);
            return;
        }
        var body = await ReadBodyAsync(context);
        if (body is null)
        {
            return;
        }
        var input = InputFormat(context.Request, body);
        await ScoreAsync(context, fleet, target, sha256, new InvocationRequest(body, input, OutputFormat(context.Request), version, requestId));
    }

    private static async Task InvokeReferencePayloadAsync(HttpContext context)
    {
        if (!TakeRequestId(context, out var requestId))
        {
            await InvalidRequestIdAsync(context);
            return;
        }
        var fleet = context.RequestServices.GetRequiredService<FleetClient>();
        var body = await ReadBodyAsync(context);
        if (body is null)
        {
            return;
        }
        string? model = null;
        string? data = null;
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                if (document.RootElement.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String)
                {
                    model = m.GetString();
                }
                if (document.RootElement.TryGetProperty("data", out var d) && d.ValueKind == JsonValueKind.String)
                {
                    data = d.GetString();
                }
            }
        }
        catch (JsonException e)
        {
            await ProblemAsync(context, StatusCodes.Status400BadRequest, "Invalid payload",
                $"The body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}); send {{\"model\": \"<pipeline>-<dataset>\", \"data\": \"<csv rows>\"}}.");
            return;
        }
        if (string.IsNullOrEmpty(model) || data is null)
        {
            await ProblemAsync(context, StatusCodes.Status400BadRequest, "Invalid payload",
                "Send {\"model\": \"<pipeline>-<dataset>\", \"data\": \"<csv rows without header>\"}: both fields are required strings.");
            return;
        }
        if (!Resolve(context, fleet, model, out var sha256, out var version))
        {
            await (InvokerScope.Permits(context.User, model, "", fleet) ? UnknownModelAsync(context, model) : ForbiddenAsync(context));
            return;
        }
        if (!InvokerScope.Permits(context.User, model, sha256, fleet))
        {
            await ForbiddenAsync(context);
            return;
        }
        await ScoreAsync(context, fleet, model, sha256, new InvocationRequest(data, PayloadFormat.Csv, OutputFormat(context.Request), version, requestId));
    }

    private static async Task ScoreAsync(HttpContext context, FleetClient fleet, string target, string sha256, InvocationRequest request)
    {
        var started = Stopwatch.GetTimestamp();
        var result = await fleet.InvokeAsync(sha256, request);
        switch (result.Outcome)
        {
            case InvocationOutcome.Scored:
                fleet.LocalMetrics.For(sha256).Served(Stopwatch.GetTimestamp() - started);
                var response = context.Response;
                response.StatusCode = StatusCodes.Status200OK;
                if (request.Version is { } version)
                {
                    response.Headers[VersionHeader] = version.ToString(CultureInfo.InvariantCulture);
                }
                response.ContentType = request.Output == PayloadFormat.Csv ? "text/csv; charset=utf-8" : "application/json; charset=utf-8";
                response.ContentLength = result.Body.Length;
                context.RequestServices.GetRequiredService<RequestCapture>().Offer(target, sha256, request, result.Body);
                await response.Body.WriteAsync(result.Body, context.RequestAborted);
                if (fleet.TryGetShadow(target, out var shadow))
                {
                    context.RequestServices.GetRequiredService<ShadowTraffic>().Offer(target, shadow, request, result);
                }
                return;
            case InvocationOutcome.InvalidInput:
                await ProblemAsync(context, StatusCodes.Status400BadRequest, "Invalid rows", result.Error!);
                return;
            case InvocationOutcome.UnknownModel:
                await UnknownModelAsync(context, target);
                return;
            case InvocationOutcome.TimedOut:
                fleet.LocalMetrics.For(sha256).Failed();
                context.Response.Headers.RetryAfter = "1";
                await ProblemAsync(context, StatusCodes.Status503ServiceUnavailable, "No silo answered in time", result.Error!);
                return;
            default:
                fleet.LocalMetrics.For(sha256).Failed();
                await ProblemAsync(context, StatusCodes.Status503ServiceUnavailable, "Model unavailable", result.Error!);
                return;
        }
    }

    /// <summary>
    /// The artifact and version that answer this call: for a split group, the route its picker chooses (by the
    /// sticky header's value when the policy names one and the call carries it); otherwise the alias or the hash.
    /// </summary>
    private static bool Resolve(HttpContext context, FleetClient fleet, string target, out string artifactSha256, out int? version)
    {
        if (fleet.TryGetRoutes(target, out var routes))
        {
            var route = routes.Pick(routes.StickyHeader is { } header ? context.Request.Headers[header].ToString() : null);
            artifactSha256 = route.ArtifactSha256;
            version = route.Version;
            return true;
        }
        return fleet.TryResolve(target, out artifactSha256, out version);
    }

    /// <summary>
    /// The caller's <c>X-Flotilla-Request-Id</c> when it is one well-formed value, else a new id; either way it
    /// is set on the answer at once, so error answers carry it too. False when the caller's value was refused.
    /// </summary>
    private static bool TakeRequestId(HttpContext context, out string requestId)
    {
        var given = context.Request.Headers[RequestIdHeader];
        var valid = given.Count == 0 || (given.Count == 1 && IsValidRequestId(given[0]));
        requestId = given.Count == 1 && valid ? given[0]! : Guid.NewGuid().ToString("N");
        context.Response.Headers[RequestIdHeader] = requestId;
        return valid;
    }

    private static bool IsValidRequestId(string? value) =>
        value is { Length: > 0 and <= MaxRequestIdLength } && !value.AsSpan().ContainsAnyExcept(RequestIdCharacters);

    private static Task InvalidRequestIdAsync(HttpContext context) =>
        ProblemAsync(context, StatusCodes.Status400BadRequest, "Invalid request id",
            $"The {RequestIdHeader} header must be one value of 1 to {MaxRequestIdLength} letters, digits, '-', '_', '.' or ':'. " +
            "Send a shorter id of those characters, or leave the header out and use the id the answer carries.");

    /// <summary>The whole body as text, or null after answering 413 when it exceeds the invocation limit.</summary>
    private static async Task<string?> ReadBodyAsync(HttpContext context)
    {
        var limit = context.RequestServices.GetRequiredService<IOptions<FleetOptions>>().Value.MaxInvocationBytes;
        if (context.Request.ContentLength > limit)
        {
            await TooLargeAsync(context, limit);
            return null;
        }
        // Kestrel's own cap (30 MB unless configured) must not undercut the fleet's: ours answers first, naming the setting.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size && size.MaxRequestBodySize < limit + 1)
        {
            size.MaxRequestBodySize = limit + 1;
        }
        var reader = context.Request.BodyReader;
        while (true)
        {
            ReadResult read;
            try
            {
                read = await reader.ReadAsync(context.RequestAborted);
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                await TooLargeAsync(context, limit);
                return null;
            }
            var buffer = read.Buffer;
            if (buffer.Length > limit)
            {
                reader.AdvanceTo(buffer.End);
                await TooLargeAsync(context, limit);
                return null;
            }
            if (read.IsCompleted)
            {
                var text = Encoding.UTF8.GetString(buffer);
                reader.AdvanceTo(buffer.End);
                return text;
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static PayloadFormat InputFormat(HttpRequest request, string body)
    {
        var contentType = request.ContentType;
        if (contentType is not null)
        {
            if (contentType.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase))
            {
                return PayloadFormat.Csv;
            }
            if (contentType.Contains("json", StringComparison.OrdinalIgnoreCase))
            {
                return PayloadFormat.Json;
            }
        }
        // No usable content type: JSON rows start with [ or {, CSV rows never do.
        var first = body.AsSpan().TrimStart();
        return first.Length > 0 && (first[0] == '[' || first[0] == '{') ? PayloadFormat.Json : PayloadFormat.Csv;
    }

    private static PayloadFormat OutputFormat(HttpRequest request)
    {
        var accept = request.Headers.Accept;
        return accept.Count > 0 && accept.ToString().Contains("text/csv", StringComparison.OrdinalIgnoreCase)
            ? PayloadFormat.Csv
            : PayloadFormat.Json;
    }

    private static Task UnknownModelAsync(HttpContext context, string target) =>
        ProblemAsync(context, StatusCodes.Status404NotFound, "Unknown model",
            $"No model named '{target}': it is neither a deployed group nor a stored artifact SHA-256. " +
            "List deployed groups with GET /api/endpoint; a group is deployed when one of its versions is approved.");

    private static Task ForbiddenAsync(HttpContext context) =>
        ProblemAsync(context, StatusCodes.Status403Forbidden, "Forbidden", InvokerScope.Refusal(context.User));

    private static Task TooLargeAsync(HttpContext context, long limit) =>
        ProblemAsync(context, StatusCodes.Status413PayloadTooLarge, "Body too large",
            $"The invocation body exceeds {limit:N0} bytes. Send fewer rows per call, or raise Flotilla:Fleet:MaxInvocationBytes.");

    private static Task ProblemAsync(HttpContext context, int status, string title, string detail) =>
        TypedResults.Problem(detail, statusCode: status, title: title).ExecuteAsync(context);
}
