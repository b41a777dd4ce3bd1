using Flotilla.Storage.Metadata;

namespace Flotilla.Pipelines.Storage;

/// <summary>The pipelines component's tables: definitions, executions, their steps and trials, the step cache, datasets.</summary>
public static class PipelineMigrations
{
    public const string Component = "pipelines";

    public static IReadOnlyList<Migration> All { get; } =
    [
        new(Component, 1,
            """
            CREATE TABLE IF NOT EXISTS pipeline_definitions (
                name TEXT PRIMARY KEY,
                source TEXT NOT NULL,
                builtin BIGINT NOT NULL,
                created_ms BIGINT NOT NULL,
                updated_ms BIGINT NOT NULL);
            CREATE TABLE IF NOT EXISTS pipeline_executions (
                id TEXT PRIMARY KEY,
                pipeline TEXT NOT NULL,
                source TEXT NOT NULL,
                parameters TEXT NOT NULL,
                status TEXT NOT NULL,
                failure_reason TEXT,
                created_ms BIGINT NOT NULL,
                ended_ms BIGINT);
            CREATE INDEX IF NOT EXISTS ix_pipeline_executions_status ON pipeline_executions (status);
            CREATE INDEX IF NOT EXISTS ix_pipeline_executions_created ON pipeline_executions (created_ms);
            CREATE TABLE IF NOT EXISTS pipeline_steps (
                execution_id TEXT NOT NULL REFERENCES pipeline_executions (id),
                name TEXT NOT NULL,
                type TEXT NOT NULL,
                ordinal BIGINT NOT NULL,
                status TEXT NOT NULL,
                attempts BIGINT NOT NULL,
                started_ms BIGINT,
                ended_ms BIGINT,
                outputs TEXT,
                log TEXT,
                failure_reason TEXT,
                cached_from TEXT,
                PRIMARY KEY (execution_id, name));
            CREATE TABLE IF NOT EXISTS pipeline_trials (
                execution_id TEXT NOT NULL REFERENCES pipeline_executions (id),
                step TEXT NOT NULL,
                number BIGINT NOT NULL,
                algorithm TEXT NOT NULL,
                parameters TEXT NOT NULL,
                fold_scores TEXT NOT NULL,
                score DOUBLE PRECISION,
                status TEXT NOT NULL,
                seconds DOUBLE PRECISION NOT NULL,
                data TEXT NOT NULL,
                created_ms BIGINT NOT NULL,
                PRIMARY KEY (execution_id, step, number));
            CREATE TABLE IF NOT EXISTS pipeline_step_cache (
                cache_key TEXT PRIMARY KEY,
                step_type TEXT NOT NULL,
                outputs TEXT NOT NULL,
                execution_id TEXT NOT NULL,
                step TEXT NOT NULL,
                created_ms BIGINT NOT NULL);
            CREATE TABLE IF NOT EXISTS datasets (
                name TEXT PRIMARY KEY,
                path TEXT NOT NULL,
                target TEXT NOT NULL,
                exclude TEXT NOT NULL,
                sha256 TEXT NOT NULL,
                size_bytes BIGINT NOT NULL,
                row_count BIGINT NOT NULL,
                columns TEXT NOT NULL,
                label_balance TEXT NOT NULL,
                created_ms BIGINT NOT NULL,
                updated_ms BIGINT NOT NULL)
            """),
        // Which server runs an execution, until when: servers sharing PostgreSQL never run one twice.
        new(Component, 2,
            """
            ALTER TABLE pipeline_executions ADD COLUMN owner TEXT;
            ALTER TABLE pipeline_executions ADD COLUMN lease_ms BIGINT
            """),
        // Whether a dataset's file is its own upload (1) or registered by path (0): only an upload's file is
        // deleted with it. Rows from before stay null and are judged by the upload's file name.
        new(Component, 3,
            """
            ALTER TABLE datasets ADD COLUMN uploaded BIGINT
            """),
        // The tuner's planned trial count when a trial finished: progress totals without guessing from MaxTuningJobs.
        new(Component, 4,
            """
            ALTER TABLE pipeline_trials ADD COLUMN planned BIGINT
            """),
        // Fencing: each claim of an execution raises its epoch, and every write of its state carries the writer's,
        // so a server whose lease was taken (it stalled, then woke) can no longer change anything.
        new(Component, 5,
            """
            ALTER TABLE pipeline_executions ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0
            """),
        // Which fleet silo ran a trial: the trials of one Tune step run on every silo of a cluster.
        new(Component, 6,
            """
            ALTER TABLE pipeline_trials ADD COLUMN silo TEXT
            """),
    ];
}
