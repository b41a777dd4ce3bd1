using Flotilla.Storage.Metadata;

namespace Flotilla.Server.Identity;

/// <summary>The identity tables: API keys (only their SHA-256 is kept), the one-row bootstrap claim, and the audit log.</summary>
internal static class IdentitySchema
{
    public const string Component = "identity";

    public static IReadOnlyList<Migration> Migrations { get; } =
    [
        new(Component, 1, """
            CREATE TABLE IF NOT EXISTS identity_keys (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                sha256 TEXT NOT NULL UNIQUE,
                roles TEXT NOT NULL,
                groups_json TEXT,
                created_by TEXT NOT NULL,
                created_ms BIGINT NOT NULL,
                expires_ms BIGINT,
                revoked_ms BIGINT);
            CREATE TABLE IF NOT EXISTS identity_bootstrap (
                id BIGINT PRIMARY KEY,
                key_id TEXT NOT NULL,
                created_ms BIGINT NOT NULL);
            CREATE TABLE IF NOT EXISTS audit_log (
                id TEXT PRIMARY KEY,
                at_ms BIGINT NOT NULL,
                actor TEXT NOT NULL,
                actor_id TEXT NOT NULL,
                roles TEXT NOT NULL,
                action TEXT NOT NULL,
                target TEXT NOT NULL,
                path TEXT NOT NULL,
                status BIGINT NOT NULL,
                client TEXT NOT NULL,
                repeats BIGINT NOT NULL);
            CREATE INDEX IF NOT EXISTS audit_log_by_time ON audit_log (at_ms);
            CREATE INDEX IF NOT EXISTS audit_log_by_actor ON audit_log (actor, at_ms);
            CREATE INDEX IF NOT EXISTS audit_log_by_target ON audit_log (target, at_ms);
            """),
    ];
}
