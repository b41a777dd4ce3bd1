using System.Security.Claims;
using Flotilla.Fleet;
using Flotilla.Server.Identity;

namespace Flotilla.Server.Endpoint;

/// <summary>
/// Who may call the invocation doors: the invoker role (admins have it too), and for a key limited to some groups
/// only those groups — by name, or through <c>X-Target-Model</c> only an artifact one of them serves right now.
/// </summary>
internal static class InvokerScope
{
    /// <summary>The invoker role, no audit entry (invocations are counted in metrics), and the invocation rate limit when one is set.</summary>
    public static TBuilder ForInvokers<TBuilder>(this TBuilder route, IEndpointRouteBuilder app) where TBuilder : IEndpointConventionBuilder
    {
        route.RequireAuthorization(Roles.Invoker).WithMetadata(NotAudited.Instance);
        // Off by default: without a limit the limiter would still look up a partition on every call of the hot path.
        // The raw setting: its options are validated at start, and reading them here would throw from the build.
        if (app.ServiceProvider.GetRequiredService<IConfiguration>().GetValue<int>($"{RateLimitOptions.Section}:{nameof(RateLimitOptions.InvocationsPerSecond)}") > 0)
            route.RequireRateLimiting(RateLimits.Invocations);
        return route;
    }

    /// <summary>Whether <paramref name="user"/> may score with <paramref name="sha256"/>, which <paramref name="target"/> resolved to.</summary>
    public static bool Permits(ClaimsPrincipal user, string target, string sha256, FleetClient fleet)
    {
        // Most keys have no group limit: answer without collecting the claims.
        if (!user.HasClaim(static c => c.Type == Principals.GroupClaim) || Principals.InvocableGroups(user) is not { } groups)
            return true;
        if (groups.Contains(target, StringComparer.Ordinal))
            return true;
        return !FleetClient.IsSha256(target) ? false
            : fleet.Aliases.Any(d => groups.Contains(d.Group, StringComparer.Ordinal) && d.ArtifactSha256 == sha256);
    }

    public static string Refusal(ClaimsPrincipal user) =>
        $"Your key '{Principals.NameOf(user)}' may invoke only the groups {string.Join(", ", Principals.InvocableGroups(user) ?? [])} " +
        "(by name, or by the artifact one of them serves now).";
}
