namespace Flotilla.Contracts;

/// <summary><c>POST /api/keys</c>: a name, one or more roles, optionally the groups an invoker key may call and an expiry.</summary>
public sealed record CreateKeyRequest(string? Name, IReadOnlyList<string>? Roles, IReadOnlyList<string>? Groups = null, DateTimeOffset? ExpiresAt = null);

/// <summary>The answer of <c>POST /api/keys</c>: the key and its secret, shown this once.</summary>
public sealed record CreatedKey(string Id, string Name, IReadOnlyList<string> Roles, IReadOnlyList<string>? Groups, DateTimeOffset? ExpiresAt, string Key);

/// <summary>An API key as listed: never its secret.</summary>
public sealed record ApiKey(
    string Id,
    string Name,
    IReadOnlyList<string> Roles,
    IReadOnlyList<string>? Groups,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? RevokedAt);

/// <summary>One state-changing request, allowed or refused. <see cref="Repeats"/> counts folded anonymous refusals.</summary>
public sealed record AuditEntry(
    string Id,
    DateTimeOffset At,
    string Actor,
    string ActorId,
    IReadOnlyList<string> Roles,
    string Action,
    string Target,
    string Path,
    int Status,
    string Client,
    long Repeats);
