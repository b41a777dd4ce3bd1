using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Flotilla.Server.Identity;

/// <summary>
/// 401 and 403 as problem details that say what to do: send a key, or use one with the role the route needs.
/// The answer names the roles the caller has, never anything about the resource it asked for.
/// </summary>
internal sealed class AccessRefusals : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Succeeded)
            return _default.HandleAsync(next, context, policy, authorizeResult);

        var needed = policy.Requirements.OfType<RolesAuthorizationRequirement>().SelectMany(r => r.AllowedRoles).FirstOrDefault();
        if (context.User.Identity?.IsAuthenticated != true)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return Results.Problem(
                "This route needs an API key: send 'Authorization: Bearer <key>'. The first start of a server writes an admin key to " +
                "<DataDirectory>/admin.key; make named keys with POST /api/keys or `flotilla keys create`.",
                statusCode: StatusCodes.Status401Unauthorized, title: "Authentication required").ExecuteAsync(context);
        }

        var has = string.Join(", ", Principals.RolesOf(context.User));
        var detail = needed is null
            ? "This route is closed to every caller."
            : $"Your key '{Principals.NameOf(context.User)}' lacks role '{needed}' (it has: {(has.Length == 0 ? "none" : has)}).";
        return Results.Problem(detail, statusCode: StatusCodes.Status403Forbidden, title: "Forbidden",
            extensions: needed is null ? null : new Dictionary<string, object?> { ["requiredRole"] = needed }).ExecuteAsync(context);
    }
}
