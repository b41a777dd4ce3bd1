using Flotilla.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Flotilla.Server.Identity;

/// <summary><c>GET /api/audit</c>: the audit log, newest first, for approvers and admins.</summary>
internal static class AuditApi
{
    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/audit", QueryAsync).WithTags("Identity").RequireAuthorization(Roles.Approver);
        return app;
    }

    private static async Task<Results<Ok<IReadOnlyList<AuditEntry>>, ProblemHttpResult>> QueryAsync(
        string? actor, string? target, DateTimeOffset? since, int? limit, AuditLog audit, CancellationToken ct)
    {
        if (limit is < 1 or > 10_000)
            return TypedResults.Problem($"limit {limit} is outside 1–10000.", statusCode: StatusCodes.Status400BadRequest, title: "Bad limit");
        var entries = await audit.QueryAsync(
            string.IsNullOrEmpty(actor) ? null : actor, string.IsNullOrEmpty(target) ? null : target, since, limit ?? 500, ct);
        return TypedResults.Ok<IReadOnlyList<AuditEntry>>(entries);
    }
}
