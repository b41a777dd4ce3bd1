namespace Flotilla.Server.Identity;

/// <summary>
/// The five roles of a principal. A role implies the ones below it: operator and approver include viewer, and admin
/// includes every role. Implied roles are added when a principal is authenticated, so a route asks for exactly one
/// role and never lists its supersets.
/// </summary>
public static class Roles
{
    public const string Viewer = "viewer";
    public const string Invoker = "invoker";
    public const string Operator = "operator";
    public const string Approver = "approver";
    public const string Admin = "admin";

    public static IReadOnlyList<string> All { get; } = [Viewer, Invoker, Operator, Approver, Admin];

    public static bool IsKnown(string role) => All.Contains(role, StringComparer.Ordinal);

    /// <summary>The roles given and every role they imply, in <see cref="All"/> order.</summary>
    public static IReadOnlyList<string> Expand(IEnumerable<string> roles)
    {
        var given = roles.ToHashSet(StringComparer.Ordinal);
        if (given.Contains(Admin))
            return All;
        if (given.Contains(Operator) || given.Contains(Approver))
            given.Add(Viewer);
        return [.. All.Where(given.Contains)];
    }
}
