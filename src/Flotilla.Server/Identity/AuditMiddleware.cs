using System.Security.Claims;
namespace Flotilla.Server.Identity;

/// <summary>Endpoint metadata: the route is counted in metrics, not audited (the invocation doors, feedback).</summary>
public sealed class NotAudited
{
    public static readonly NotAudited Instance = new();
}

/// <summary>Action names the server looks entries up by.</summary>
public static class AuditActions
{
    public const string StartExecution = "POST /api/pipelines/{pipeline}/executions";

    /// <summary>Lets a handler name what it acted on when the route does not (the id of an execution it started).</summary>
    public static void SetTarget(HttpContext context, string target) => context.Items[TargetKey] = target;

    internal const string TargetKey = "flotilla.audit.target";
}

/// <summary>
/// Writes an <see cref="Contracts.AuditEntry"/> for every request that may change state (any method but GET, HEAD and
/// OPTIONS), after it was answered, so the entry holds the real status — a refusal by authorization, the rate
/// limiter or validation included. It sits between authentication and authorization for that reason.
/// </summary>
internal sealed partial class AuditMiddleware(RequestDelegate next, AuditLog audit, ILogger<AuditMiddleware> logger)
{
    private static readonly string[] TargetRouteValues = ["id", "group", "name", "pipeline"];

    public async Task InvokeAsync(HttpContext context)
    {
        var method = context.Request.Method;
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method)
            || context.GetEndpoint()?.Metadata.GetMetadata<NotAudited>() is not null)
        {
            await next(context);
            return;
        }

        try
        {
            await next(context);
        }
        finally
        {
            await RecordAsync(context);
        }
    }

    private async Task RecordAsync(HttpContext context)
    {
        var user = context.User;
        var authenticated = user.Identity?.IsAuthenticated == true;
        var status = context.Response.StatusCode;
        var pattern = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText;
        var action = $"{context.Request.Method} {(pattern is null ? "(no route)" : Normalize(pattern))}";
        var target = context.Items[AuditActions.TargetKey] as string ?? TargetOf(context);
        try
        {
            // Not the request's token: an entry must be written even when the caller hung up.
            await audit.RecordAsync(
                Principals.NameOf(user),
                authenticated ? user.FindFirstValue(ClaimTypes.NameIdentifier) ?? "" : "",
                Principals.RolesOf(user),
                action, target, Truncate(context.Request.Path.Value ?? "", 512), status,
                context.Connection.RemoteIpAddress?.ToString() ?? "",
                anonymousRefusal: !authenticated && status is StatusCodes.Status401Unauthorized,
                CancellationToken.None);
        }
        catch (Exception e)
        {
            LogAuditFailed(e, action, target, status);
        }
    }

    private static string TargetOf(HttpContext context)
    {
        foreach (var key in TargetRouteValues)
        {
            if (context.Request.RouteValues.TryGetValue(key, out var value) && value is string text)
                return Truncate(text, 256);
        }
        return "";
    }

    private static string Normalize(string pattern) => "/" + pattern.Trim('/');

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length];

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not write the audit entry for {Action} on '{Target}' (status {Status})")]
    private partial void LogAuditFailed(Exception exception, string action, string target, int status);
}
