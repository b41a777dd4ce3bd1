using Flotilla.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Flotilla.Server.Identity;

/// <summary><c>/api/keys</c> (admin only): make a key (its secret is in this one answer), list keys, revoke one.</summary>
internal static class KeysApi
{
    public static IEndpointRouteBuilder MapKeysApi(this IEndpointRouteBuilder app)
    {
        var keys = app.MapGroup("/api/keys").WithTags("Identity");
        keys.MapPost("/", CreateAsync).RequireAuthorization(Roles.Admin);
        keys.MapGet("/", async (ApiKeyStore store, CancellationToken ct) => TypedResults.Ok<IReadOnlyList<ApiKey>>(await store.ListAsync(ct)))
            .RequireAuthorization(Roles.Admin);
        keys.MapDelete("/{id}", RevokeAsync).RequireAuthorization(Roles.Admin);
        return app;
    }

    private static async Task<Results<Created<CreatedKey>, ProblemHttpResult>> CreateAsync(
        CreateKeyRequest request, HttpContext context, ApiKeyStore store, KeyRing ring, TimeProvider time, CancellationToken ct)
    {
        if (Invalid(request, time.GetUtcNow()) is { } problem)
            return TypedResults.Problem(problem, statusCode: StatusCodes.Status400BadRequest, title: "Invalid key request");
        var issued = await store.CreateAsync(
            request.Name!.Trim(), [.. request.Roles!.Distinct()], request.Groups is { Count: > 0 } g ? [.. g.Distinct()] : null,
            request.ExpiresAt, Principals.NameOf(context.User), ct);
        await ring.ReloadAsync(ct);
        AuditActions.SetTarget(context, issued.Key.Id);
        var key = issued.Key;
        return TypedResults.Created($"/api/keys/{key.Id}", new CreatedKey(key.Id, key.Name, key.Roles, key.Groups, key.ExpiresAt, issued.Secret));
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeAsync(string id, ApiKeyStore store, KeyRing ring, CancellationToken ct)
    {
        if (await store.RevokeAsync(id, ct) is null)
            return TypedResults.Problem($"API key '{id}' does not exist; list keys with GET /api/keys.",
                statusCode: StatusCodes.Status404NotFound, title: "Unknown API key");
        await ring.ReloadAsync(ct);
        return TypedResults.NoContent();
    }

    private static string? Invalid(CreateKeyRequest request, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Trim().Length > 100 || request.Name.Any(char.IsControl))
            return "'name' is required: 1 to 100 printable characters that say whose key it is (e.g. \"ci-deployer\").";
        if (request.Roles is not { Count: > 0 })
            return $"'roles' is required: one or more of {string.Join(", ", Roles.All)}.";
        if (request.Roles.FirstOrDefault(r => !Roles.IsKnown(r)) is { } unknown)
            return $"'roles' has '{Shorten(unknown)}', which is not a role; use {string.Join(", ", Roles.All)}.";
        if (request.Groups?.FirstOrDefault(g => string.IsNullOrWhiteSpace(g) || g.Length > 200) is not null)
            return "'groups' must name model package groups (non-empty, at most 200 characters each).";
        if (request.ExpiresAt is { } expires && expires <= now)
            return $"'expiresAt' {expires:O} is not in the future.";
        return null;
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
