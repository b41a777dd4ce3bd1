using Flotilla.Storage.Metadata;

namespace Flotilla.Registry;

/// <summary>The registry's tables; see <see cref="MetadataStore"/> for the portable SQL they keep to.</summary>
public static class RegistrySchema
{
    public const string Component = "registry";

    public static IReadOnlyList<Migration> Migrations { get; } =
    [
        new(Component, 1, """
            CREATE TABLE IF NOT EXISTS registry_groups (
                name TEXT PRIMARY KEY,
                latest_version BIGINT NOT NULL,
                created_ms BIGINT NOT NULL);
            CREATE TABLE IF NOT EXISTS registry_packages (
                id TEXT PRIMARY KEY,
                group_name TEXT NOT NULL REFERENCES registry_groups (name),
                version BIGINT NOT NULL,
                artifact_sha256 TEXT NOT NULL,
                artifact_size BIGINT NOT NULL,
                artifact_uri TEXT NOT NULL,
                evaluation_report TEXT NOT NULL,
                parameters TEXT NOT NULL,
                execution_id TEXT,
                step_name TEXT,
                dataset_hash TEXT,
                approval_status TEXT NOT NULL,
                approval_description TEXT,
                status_changed_by TEXT,
                status_changed_ms BIGINT,
                created_ms BIGINT NOT NULL,
                event_seq BIGINT NOT NULL,
                UNIQUE (group_name, version));
            CREATE INDEX IF NOT EXISTS registry_packages_by_status ON registry_packages (group_name, approval_status);
            CREATE TABLE IF NOT EXISTS registry_outbox (
                id TEXT PRIMARY KEY,
                group_name TEXT NOT NULL,
                package_id TEXT NOT NULL REFERENCES registry_packages (id),
                package_seq BIGINT NOT NULL,
                version BIGINT NOT NULL,
                old_status TEXT,
                new_status TEXT NOT NULL,
                changed_by TEXT,
                occurred_ms BIGINT NOT NULL,
                attempts BIGINT NOT NULL,
                next_attempt_ms BIGINT NOT NULL,
                delivered_ms BIGINT,
                last_error TEXT);
            CREATE UNIQUE INDEX IF NOT EXISTS registry_outbox_order ON registry_outbox (package_id, package_seq);
            CREATE INDEX IF NOT EXISTS registry_outbox_due ON registry_outbox (delivered_ms, next_attempt_ms);
            """),
    ];
}
