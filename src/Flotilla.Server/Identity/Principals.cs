using System.Security.Claims;

namespace Flotilla.Server.Identity;

/// <summary>What the rest of the server reads from an authenticated principal: its name, its roles, its groups.</summary>
public static class Principals
{
    /// <summary>A group an invoker key is limited to; a principal with none of these may invoke every group.</summary>
    public const string GroupClaim = "flotilla:group";

    /// <summary>The name audit entries and approvals record: the key's name, or the token's subject.</summary>
    public static string NameOf(ClaimsPrincipal user) =>
        user.Identity?.IsAuthenticated == true
            ? user.Identity.Name ?? user.FindFirstValue(ClaimTypes.NameIdentifier) ?? "unknown"
            : "anonymous";

    public static IReadOnlyList<string> RolesOf(ClaimsPrincipal user) =>
        [.. user.FindAll(ClaimTypes.Role).Select(c => c.Value)];

    /// <summary>The groups this principal may invoke, or null for all of them.</summary>
    public static IReadOnlyList<string>? InvocableGroups(ClaimsPrincipal user)
    {
        var groups = user.FindAll(GroupClaim).Select(c => c.Value).ToList();
        return groups.Count == 0 ? null : groups;
    }
}
