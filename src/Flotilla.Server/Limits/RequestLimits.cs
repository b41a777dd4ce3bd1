using System.Text.Json;
using Flotilla.Server.Hosting;
using Microsoft.AspNetCore.Http.Features;
using KestrelServerOptions = Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions;
using Microsoft.Extensions.Options;

namespace Flotilla.Server.Limits;

/// <summary>
/// Limits every request meets before its handler, each refusal a problem details body naming what to change:
/// the body (<c>Flotilla:MaxRequestBodyBytes</c>, multipart uploads included; the invocation doors keep
/// <c>Flotilla:Fleet:MaxInvocationBytes</c> and answer for themselves), the length of the path, and bodies that
/// are not the JSON a route expects (line and byte of the first error, instead of a bare "Bad Request").
/// </summary>
internal static class RequestLimits
{
    public const string BodySetting = "Flotilla:MaxRequestBodyBytes";

    /// <summary>The longest path accepted, in characters; no route needs more than a few hundred.</summary>
    public const int MaxPathChars = 2048;

    // Kestrel answers a request line longer than its limit (8 KB by default) itself, with an empty 414. Raised,
    // so that a long path reaches the check below and is refused with a body; longer lines still get Kestrel's.
    private const int MaxRequestLineBytes = 64 * 1024;

    public static WebApplicationBuilder AddRequestLimits(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<FormOptions>()
            .Configure<IOptions<FlotillaOptions>>((form, flotilla) => form.MultipartBodyLengthLimit = flotilla.Value.MaxRequestBodyBytes);
        builder.Services.Configure<KestrelServerOptions>(kestrel => kestrel.Limits.MaxRequestLineSize = MaxRequestLineBytes);
        // Binding failures (a malformed JSON body above all) become exceptions the middleware below can describe.
        builder.Services.Configure<RouteHandlerOptions>(routes => routes.ThrowOnBadRequest = true);
        return builder;
    }

    public static WebApplication UseRequestLimits(this WebApplication app)
    {
        // Read per request (IOptions caches the value), not here: reading it while the app is built would throw a
        // bad setting from Build instead of from the start, where every other setting is validated.
        app.Use((context, next) => LimitAsync(context, next,
            context.RequestServices.GetRequiredService<IOptions<FlotillaOptions>>().Value.MaxRequestBodyBytes));
        return app;
    }

    private static async Task LimitAsync(HttpContext context, RequestDelegate next, long limit)
    {
        if (context.Request.Path.Value is { Length: > MaxPathChars } path)
        {
            await ProblemAsync(context, StatusCodes.Status414UriTooLong, "Path too long",
                $"The request path has {path.Length:N0} characters; at most {MaxPathChars:N0} are accepted.");
            return;
        }

        var invocation = IsInvocation(context.Request.Path);
        if (!invocation)
        {
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            {
                size.MaxRequestBodySize = limit;
            }
            if (context.Request.ContentLength > limit)
            {
                await TooLargeAsync(context, limit);
                return;
            }
        }

        try
        {
            await next(context);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge && !invocation && !context.Response.HasStarted)
        {
            await TooLargeAsync(context, limit);
        }
        catch (InvalidDataException e) when (e.Message.Contains("length limit", StringComparison.OrdinalIgnoreCase) && !context.Response.HasStarted)
        {
            await TooLargeAsync(context, limit);
        }
        catch (InvalidDataException e) when (!context.Response.HasStarted)
        {
            await ProblemAsync(context, StatusCodes.Status400BadRequest, "Malformed multipart body", e.Message);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status400BadRequest && !context.Response.HasStarted)
        {
            await MalformedAsync(context, e);
        }
    }

    // The invocation doors: POST /invocations, /invoke and /models/{group}/invocations.
    // On spans: every request passes here, and the out-parameter overload of StartsWithSegments allocates the rest.
    private static bool IsInvocation(PathString path)
    {
        var value = path.Value.AsSpan();
        if (value is "/invocations" or "/invoke")
        {
            return true;
        }
        if (!value.StartsWith("/models/", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        var tail = value["/models".Length..];
        return tail.EndsWith("/invocations", StringComparison.Ordinal) && tail.Count('/') == 2;
    }

    private static Task TooLargeAsync(HttpContext context, long limit) =>
        ProblemAsync(context, StatusCodes.Status413PayloadTooLarge, "Body too large",
            $"The request body exceeds {limit:N0} bytes. Send a smaller body, or raise {BodySetting}.");

    private static Task MalformedAsync(HttpContext context, BadHttpRequestException e)
    {
        if (e.InnerException is JsonException json)
        {
            var where = json.LineNumber is { } line
                ? $"line {line + 1}, byte {json.BytePositionInLine + 1}{(string.IsNullOrEmpty(json.Path) ? "" : $" ({json.Path})")}"
                : json.Path ?? "(body)";
            return ProblemAsync(context, StatusCodes.Status400BadRequest, "The body is not valid JSON for this request",
                $"{where}: {FirstSentence(json.Message)}", new() { ["where"] = where });
        }
        return ProblemAsync(context, StatusCodes.Status400BadRequest, "Bad request", e.Message);
    }

    // System.Text.Json appends "Path: … | LineNumber: … | BytePositionInLine: …", which the place already says.
    private static string FirstSentence(string message) =>
        message.IndexOf(" Path: ", StringComparison.Ordinal) is var cut and > 0 ? message[..cut] : message;

    private static Task ProblemAsync(HttpContext context, int status, string title, string detail, Dictionary<string, object?>? extensions = null)
    {
        // The body was refused unread: tell the client not to send the rest on this connection.
        if (status == StatusCodes.Status413PayloadTooLarge)
        {
            context.Response.Headers.Connection = "close";
        }
        return TypedResults.Problem(detail: detail, statusCode: status, title: title, extensions: extensions).ExecuteAsync(context);
    }
}
