using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using Flotilla.Contracts;
using Flotilla.Storage.Metadata;

namespace Flotilla.Server.Identity;

/// <summary>A key just made: its record and, once, its secret.</summary>
public sealed record IssuedKey(ApiKey Key, string Secret);

/// <summary>A key the server accepts, found by the SHA-256 of its secret.</summary>
public sealed record ActiveKey(ApiKey Key, string Sha256);

/// <summary>
/// API keys in the metadata store. A secret is 32 random bytes behind the prefix <c>flk_</c>; only its SHA-256
/// is stored, so a copy of the database grants nothing.
/// </summary>
public sealed class ApiKeyStore(MetadataStore store, TimeProvider time)
{
    public const string SecretPrefix = "flk_";

    private sealed class Row
    {
        public string Id { get; set; } = "";
        public string Name { get; set; } = "";
        public string Sha256 { get; set; } = "";
        public string Roles { get; set; } = "[]";
        public string? GroupsJson { get; set; }
        public string CreatedBy { get; set; } = "";
        public long CreatedMs { get; set; }
        public long? ExpiresMs { get; set; }
        public long? RevokedMs { get; set; }

        public ApiKey ToKey() => new(
            Id, Name,
            JsonSerializer.Deserialize<string[]>(Roles) ?? [],
            GroupsJson is null ? null : JsonSerializer.Deserialize<string[]>(GroupsJson),
            CreatedBy,
            DateTimeOffset.FromUnixTimeMilliseconds(CreatedMs),
            ExpiresMs is { } e ? DateTimeOffset.FromUnixTimeMilliseconds(e) : null,
            RevokedMs is { } r ? DateTimeOffset.FromUnixTimeMilliseconds(r) : null);
    }

    public static string HashOf(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public async Task<IssuedKey> CreateAsync(
        string name, IReadOnlyList<string> roles, IReadOnlyList<string>? groups, DateTimeOffset? expiresAt, string createdBy, CancellationToken ct)
    {
        var (row, secret) = NewRow(name, roles, groups, expiresAt, createdBy);
        await using var connection = await store.OpenConnectionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(InsertSql, row, cancellationToken: ct));
        return new(row.ToKey(), secret);
    }

    /// <summary>
    /// Creates the first admin key if no server ever did: the claim on the one bootstrap row and the key are one
    /// transaction, so of several servers starting together on one database exactly one gets a secret back.
    /// </summary>
    public Task<IssuedKey?> BootstrapAdminAsync(CancellationToken ct) => store.InTransactionAsync<IssuedKey?>(async (c, t, token) =>
    {
        var (row, secret) = NewRow("bootstrap-admin", [Identity.Roles.Admin], null, null, "bootstrap");
        var claimed = await c.ExecuteAsync(new CommandDefinition(
            "INSERT INTO identity_bootstrap (id, key_id, created_ms) VALUES (1, @Id, @CreatedMs) ON CONFLICT (id) DO NOTHING",
            row, t, cancellationToken: token));
        if (claimed == 0)
            return null;
        await c.ExecuteAsync(new CommandDefinition(InsertSql, row, t, cancellationToken: token));
        return new IssuedKey(row.ToKey(), secret);
    }, ct);

    public async Task<IReadOnlyList<ApiKey>> ListAsync(CancellationToken ct)
    {
        await using var connection = await store.OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(
            "SELECT * FROM identity_keys ORDER BY created_ms, id", cancellationToken: ct));
        return [.. rows.Select(r => r.ToKey())];
    }

    /// <summary>Every key that is neither revoked nor expired now, with its hash.</summary>
    public async Task<IReadOnlyList<ActiveKey>> ActiveAsync(CancellationToken ct)
    {
        await using var connection = await store.OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(
            "SELECT * FROM identity_keys WHERE revoked_ms IS NULL AND (expires_ms IS NULL OR expires_ms > @now)",
            new { now = time.GetUtcNow().ToUnixTimeMilliseconds() }, cancellationToken: ct));
        return [.. rows.Select(r => new ActiveKey(r.ToKey(), r.Sha256))];
    }

    /// <summary>Revokes a key; false when no such key exists. Revoking twice keeps the first time.</summary>
    public async Task<ApiKey?> RevokeAsync(string id, CancellationToken ct)
    {
        await using var connection = await store.OpenConnectionAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE identity_keys SET revoked_ms = @now WHERE id = @id AND revoked_ms IS NULL",
            new { id, now = time.GetUtcNow().ToUnixTimeMilliseconds() }, cancellationToken: ct));
        var row = await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            "SELECT * FROM identity_keys WHERE id = @id", new { id }, cancellationToken: ct));
        return row?.ToKey();
    }

    private const string InsertSql = """
        INSERT INTO identity_keys (id, name, sha256, roles, groups_json, created_by, created_ms, expires_ms, revoked_ms)
        VALUES (@Id, @Name, @Sha256, @Roles, @GroupsJson, @CreatedBy, @CreatedMs, @ExpiresMs, NULL)
        """;

    private (Row Row, string Secret) NewRow(
        string name, IReadOnlyList<string> roles, IReadOnlyList<string>? groups, DateTimeOffset? expiresAt, string createdBy)
    {
        var secret = SecretPrefix + Base64Url(RandomNumberGenerator.GetBytes(32));
        var row = new Row
        {
            Id = "key_" + Guid.CreateVersion7().ToString("N"),
            Name = name,
            Sha256 = HashOf(secret),
            Roles = JsonSerializer.Serialize(roles),
            GroupsJson = groups is null ? null : JsonSerializer.Serialize(groups),
            CreatedBy = createdBy,
            CreatedMs = time.GetUtcNow().ToUnixTimeMilliseconds(),
            ExpiresMs = expiresAt?.ToUnixTimeMilliseconds(),
        };
        return (row, secret);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
