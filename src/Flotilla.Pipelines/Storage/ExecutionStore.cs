using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapper;
using Flotilla.Pipelines.Execution;
using Flotilla.Storage.Metadata;

namespace Flotilla.Pipelines.Storage;

/// <summary>Every piece of execution state, in the metadata store: what a restarted server resumes from.</summary>
public sealed class ExecutionStore(MetadataStore store, TimeProvider time)
{
    internal sealed class ExecutionRow
    {
        public string Id { get; set; } = "";
        public string Pipeline { get; set; } = "";
        public string Source { get; set; } = "";
        public string Parameters { get; set; } = "{}";

        /// <summary>Read from the text column (Dapper parses the name); never written through this row.</summary>
        public ExecutionStatus Status { get; set; }

        public string? FailureReason { get; set; }
        public long CreatedMs { get; set; }
        public long? EndedMs { get; set; }
    }

    internal sealed class StepRow
    {
        public string ExecutionId { get; set; } = "";
        public string Name { get; set; } = "";
        public string Type { get; set; } = "";
        public long Ordinal { get; set; }
        /// <summary>Read from the text column (Dapper parses the name); written as <see cref="StatusName"/>.</summary>
        public StepStatus Status { get; set; } = StepStatus.Pending;

        /// <summary>The column's text: Dapper would send an enum parameter as its number.</summary>
        public string StatusName => Status.ToString();

        public long Attempts { get; set; }
        public long? StartedMs { get; set; }
        public long? EndedMs { get; set; }
        public string? Outputs { get; set; }
        public string? Log { get; set; }
        public string? FailureReason { get; set; }
        public string? CachedFrom { get; set; }
    }

    private sealed class TrialRow
    {
        public string Step { get; set; } = "";
        public long Number { get; set; }
        public string Algorithm { get; set; } = "";
        public string Parameters { get; set; } = "{}";
        public string FoldScores { get; set; } = "[]";
        public double? Score { get; set; }
        public string Status { get; set; } = "";
        public double Seconds { get; set; }
        public string Data { get; set; } = "";
        public long? Planned { get; set; }
        public string? Silo { get; set; }
    }

    internal sealed class CacheRow
    {
        public string Outputs { get; set; } = "{}";
        public string ExecutionId { get; set; } = "";
    }

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    internal Task CreateExecutionAsync(string id, string pipeline, string source, JsonObject parameters, IEnumerable<(string Name, string Type)> steps, CancellationToken ct) =>
        store.InTransactionAsync(async (c, t, token) =>
        {
            await c.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO pipeline_executions (id, pipeline, source, parameters, status, created_ms)
                VALUES (@Id, @Pipeline, @Source, @Parameters, @Status, @CreatedMs)
                """,
                new { Id = id, Pipeline = pipeline, Source = source, Parameters = parameters.ToJsonString(), Status = ExecutionStatus.Executing.ToString(), CreatedMs = Now },
                t, cancellationToken: token));
            await c.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO pipeline_steps (execution_id, name, type, ordinal, status, attempts)
                VALUES (@ExecutionId, @Name, @Type, @Ordinal, @Status, 0)
                """,
                steps.Select((s, i) => new { ExecutionId = id, s.Name, s.Type, Ordinal = (long)i, Status = StepStatus.Pending.ToString() }),
                t, cancellationToken: token));
        }, ct);

    internal async Task<ExecutionRow?> GetExecutionRowAsync(string id, CancellationToken ct)
    {
        await using var c = await store.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<ExecutionRow>(new CommandDefinition(
            "SELECT * FROM pipeline_executions WHERE id = @Id", new { Id = id }, cancellationToken: ct));
    }

    internal async Task<List<StepRow>> GetStepRowsAsync(string id, CancellationToken ct)
    {
        await using var c = await store.OpenConnectionAsync(ct);
        return [.. await c.QueryAsync<StepRow>(new CommandDefinition(
            "SELECT * FROM pipeline_steps WHERE execution_id = @Id ORDER BY ordinal", new { Id = id }, cancellationToken: ct))];
    }

    public async Task<ExecutionDetail?> GetAsync(string id, CancellationToken ct)
    {
        var row = await GetExecutionRowAsync(id, ct);
        if (row is null)
        {
            return null;
        }

        var steps = await GetStepRowsAsync(id, ct);
        return new ExecutionDetail(
            row.Id, row.Pipeline, row.Status, ParseObject(row.Parameters),
            Time(row.CreatedMs), TimeOrNull(row.EndedMs), row.FailureReason,
            [.. steps.Select(s => new StepState(
                s.Name, s.Type, s.Status, (int)s.Attempts, TimeOrNull(s.StartedMs), TimeOrNull(s.EndedMs),
                s.Outputs is null ? null : ParseObject(s.Outputs), s.Log, s.FailureReason, s.CachedFrom))]);
    }

    public async Task<IReadOnlyList<ExecutionSummary>> ListAsync(string? pipeline, ExecutionStatus? status, int limit, CancellationToken ct)
    {
        await using var c = await store.OpenConnectionAsync(ct);
        var rows = await c.QueryAsync<ExecutionRow>(new CommandDefinition(
            """
            SELECT id, pipeline, parameters, status, failure_reason, created_ms, ended_ms FROM pipeline_executions
            WHERE (@Pipeline IS NULL OR pipeline = @Pipeline) AND (@Status IS NULL OR status = @Status)
            ORDER BY created_ms DESC, id DESC LIMIT @Limit
            """,
            new { Pipeline = pipeline, Status = status?.ToString(), Limit = (long)limit }, cancellationToken: ct));
        return [.. rows.Select(r => new ExecutionSummary(
            r.Id, r.Pipeline, r.Status, ParseObject(r.Parameters),
            Time(r.CreatedMs), TimeOrNull(r.EndedMs), r.FailureReason))];
    }

    /// <summary>Executions a previous process left running: the engine picks them up on start.</summary>
    internal async Task<IReadOnlyList<string>> ListUnfinishedAsync(CancellationToken ct)
    {
        await using var c = await store.OpenConnectionAsync(ct);
        return [.. await c.QueryAsync<string>(new CommandDefinition(
            "SELECT id FROM pipeline_executions WHERE status IN ('Executing', 'Stopping') ORDER BY created_ms, id",
            cancellationToken: ct))];
    }

    /// <summary>This process's name as an execution owner.</summary>
    internal string Owner { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    /// <summary>
    /// Takes the right to run an execution until <paramref name="lease"/> from now, under a new epoch: every later
    /// write of this server for the execution carries it, and fails with <see cref="ExecutionFencedException"/>
    /// once another server took the execution (and so raised the epoch). On SQLite one server owns the file, so the
    /// take always succeeds; on PostgreSQL it fails (null) while another server's lease runs.
    /// </summary>
    internal async Task<ExecutionLease?> ClaimAsync(string id, TimeSpan lease, CancellationToken ct)
    {
        await using var c = await store.OpenConnectionAsync(ct);
        var now = Now;
        var epoch = await c.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(
            """
            UPDATE pipeline_executions SET owner = @Owner, lease_ms = @Until, epoch = epoch + 1
            WHERE id = @Id AND status IN ('Executing', 'Stopping')
              AND (@Exclusive = 0 OR owner IS NULL OR owner = @Owner OR lease_ms < @Now)
            RETURNING epoch
            """,
            new { Id = id, Owner, Until = now + (long)lease.TotalMilliseconds, Now = now, Exclusive = store.Backend == MetadataBackend.Postgres ? 1L : 0L },
            cancellationToken: ct));
        return epoch is { } taken ? new ExecutionLease(id, taken) : null;
    }

    /// <summary>Extends this server's lease; throws <see cref="ExecutionFencedException"/> if another server took it.</summary>
    internal async Task RenewAsync(ExecutionLease held, TimeSpan lease, CancellationToken ct)
    {
        await using var c = await store.OpenConnectionAsync(ct);
        Fenced(held, await c.ExecuteAsync(new CommandDefinition(
            """
            UPDATE pipeline_executions SET lease_ms = @Until
            WHERE id = @Id AND epoch = @Epoch AND status IN ('Executing', 'Stopping')
            """,
            new { held.Id, held.Epoch, Until = Now + (long)lease.TotalMilliseconds }, cancellationToken: ct)));
    }

    /// <summary>
    /// Throws <see cref="ExecutionFencedException"/> unless this server still holds the execution, as the first
    /// statement of <paramref name="transaction"/> — another component's write (a registration) that must not happen
    /// once the execution was taken over. A no-op update rather than a read: it locks the execution's row until the
    /// transaction ends (PostgreSQL; SQLite's write transaction excludes every other writer), so a claim by another
    /// server waits for the commit and cannot slip in between this check and the write it guards.
    /// </summary>
    internal static async Task EnsureHeldAsync(ExecutionLease held, DbConnection connection, DbTransaction transaction, CancellationToken ct) =>
        Fenced(held, await connection.ExecuteAsync(new CommandDefinition(
            "UPDATE pipeline_executions SET epoch = epoch WHERE id = @Id AND epoch = @Epoch AND status IN ('Executing', 'Stopping')",
            new { held.Id, held.Epoch }, transaction, cancellationToken: ct)));

    /// <summary>Gives an execution up (on shutdown) so another server may take it at once.</summary>
    internal async Task ReleaseAsync(ExecutionLease held, CancellationToken ct)
    {
        await using var c = await store.OpenConnectionAsync(ct);
        await c.ExecuteAsync(new CommandDefinition(
            "UPDATE pipeline_executions SET owner = NULL, lease_ms = NULL WHERE id = @Id AND epoch = @Epoch",
            new { held.Id, held.Epoch }, cancellationToken: ct));
    }

    /// <summary>Unfinished executions nobody holds a live lease on (their server died or gave them up); empty on SQLite.</summary>
    internal async Task<IReadOnlyList<string>> ListOrphanedAsync(CancellationToken ct)
    {
        if (store.Backend != MetadataBackend.Postgres)
        {
            return [];
        }

        await using var c = await store.OpenConnectionAsync(ct);
        return [.. await c.QueryAsync<string>(new CommandDefinition(
            """
            SELECT id FROM pipeline_executions
            WHERE status IN ('Executing', 'Stopping') AND (owner IS NULL OR lease_ms < @Now) ORDER BY created_ms, id
            """,
            new { Now }, cancellationToken: ct))];
    }

    /// <summary>Executing → Stopping; false if the execution is not executing (already stopping or finished).</summary>
    internal async Task<bool> RequestStopAsync(string id, CancellationToken ct)
    {
        await using var c = await store.OpenConnectionAsync(ct);
        return await c.ExecuteAsync(new CommandDefinition(
            "UPDATE pipeline_executions SET status = 'Stopping' WHERE id = @Id AND status = 'Executing'",
            new { Id = id }, cancellationToken: ct)) == 1;
    }

    /// <summary>
    /// Ends an execution this server holds; false if it already ended (a finish never overwrites another finish).
    /// Throws <see cref="ExecutionFencedException"/> if another server took it.
    /// </summary>
    internal async Task<bool> FinishAsync(ExecutionLease held, ExecutionStatus status, string? reason, CancellationToken ct)
    {
        await using var c = await store.OpenConnectionAsync(ct);
        var ended = await c.ExecuteAsync(new CommandDefinition(
            """
            UPDATE pipeline_executions SET status = @Status, failure_reason = @Reason, ended_ms = @EndedMs
            WHERE id = @Id AND epoch = @Epoch AND status IN ('Executing', 'Stopping')
            """,
            new { held.Id, held.Epoch, Status = status.ToString(), Reason = reason, EndedMs = Now }, cancellationToken: ct)) == 1;
        if (!ended)
        {
            await EnsureEpochAsync(c, held, ct);
        }
        return ended;
    }

    // Step and trial rows are written only while the execution's epoch is the writer's: the check is in the write.
    private const string StepUpdate =
        """
        UPDATE pipeline_steps SET status = @StatusName, attempts = @Attempts, started_ms = @StartedMs, ended_ms = @EndedMs,
            outputs = @Outputs, log = @Log, failure_reason = @FailureReason, cached_from = @CachedFrom
        WHERE execution_id = @ExecutionId AND name = @Name
          AND EXISTS (SELECT 1 FROM pipeline_executions WHERE id = @ExecutionId AND epoch = @Epoch)
        """;

    internal async Task SaveStepAsync(ExecutionLease held, StepRow step, CancellationToken ct)
    {
        await using var c = await store.OpenConnectionAsync(ct);
        Fenced(held, await c.ExecuteAsync(new CommandDefinition(StepUpdate, StepParameters(held, step), cancellationToken: ct)));
    }

    internal async Task SaveStepsAsync(ExecutionLease held, IReadOnlyCollection<StepRow> steps, CancellationToken ct)
    {
        if (steps.Count == 0)
        {
            return;
        }

        await store.InTransactionAsync(async (c, t, token) =>
        {
            foreach (var step in steps)
            {
                Fenced(held, await c.ExecuteAsync(new CommandDefinition(StepUpdate, StepParameters(held, step), t, cancellationToken: token)));
            }
        }, ct);
    }

    internal async Task<ExecutionTrial> AddTrialAsync(ExecutionLease held, ExecutionTrial trial, CancellationToken ct)
    {
        await using var c = await store.OpenConnectionAsync(ct);
        var added = await c.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO pipeline_trials (execution_id, step, number, algorithm, parameters, fold_scores, score, status, seconds, data, planned, silo, created_ms)
            SELECT @ExecutionId, @Step, @Number, @Algorithm, @Parameters, @FoldScores, @Score, @Status, @Seconds, @Data, @Planned, @Silo, @CreatedMs
            WHERE EXISTS (SELECT 1 FROM pipeline_executions WHERE id = @ExecutionId AND epoch = @Epoch)
            ON CONFLICT (execution_id, step, number) DO NOTHING
            """,
            new
            {
                ExecutionId = held.Id, held.Epoch, trial.Step, Number = (long)trial.Number, trial.Algorithm,
                Parameters = trial.Parameters?.ToJsonString() ?? "{}", FoldScores = JsonSerializer.Serialize(trial.FoldScores),
                trial.Score, trial.Status, trial.Seconds, trial.Data, Planned = (long?)trial.Planned, trial.Silo, CreatedMs = Now,
            },
            cancellationToken: ct));
        if (added == 0)
        {
            // Nothing inserted: a trial of that number was kept already, or the execution is no longer this server's.
            await EnsureEpochAsync(c, held, ct);
        }
        return trial;
    }

    private static object StepParameters(ExecutionLease held, StepRow step) => new
    {
        step.StatusName, step.Attempts, step.StartedMs, step.EndedMs, step.Outputs, step.Log, step.FailureReason, step.CachedFrom,
        step.ExecutionId, step.Name, held.Epoch,
    };

    private static async Task EnsureEpochAsync(DbConnection c, ExecutionLease held, CancellationToken ct) =>
        Fenced(held, await c.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM pipeline_executions WHERE id = @Id AND epoch = @Epoch", new { held.Id, held.Epoch }, cancellationToken: ct)) > 0 ? 1 : 0);

    private static void Fenced(ExecutionLease held, int rows)
    {
        if (rows == 0)
        {
            throw new ExecutionFencedException(held);
        }
    }

    public async Task<IReadOnlyList<ExecutionTrial>> GetTrialsAsync(string executionId, string? step, CancellationToken ct)
    {
        await using var c = await store.OpenConnectionAsync(ct);
        var rows = await c.QueryAsync<TrialRow>(new CommandDefinition(
            """
            SELECT step, number, algorithm, parameters, fold_scores, score, status, seconds, data, planned, silo FROM pipeline_trials
            WHERE execution_id = @Id AND (@Step IS NULL OR step = @Step) ORDER BY step, number
            """,
            new { Id = executionId, Step = step }, cancellationToken: ct));
        return [.. rows.Select(r => new ExecutionTrial(
            r.Step, (int)r.Number, r.Algorithm, JsonNode.Parse(r.Parameters),
            JsonSerializer.Deserialize<double[]>(r.FoldScores) ?? [], r.Score, r.Status, r.Seconds, r.Data, (int?)r.Planned, r.Silo))];
    }

    internal async Task<CacheRow?> FindCachedAsync(string key, CancellationToken ct)
    {
        await using var c = await store.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<CacheRow>(new CommandDefinition(
            "SELECT outputs, execution_id FROM pipeline_step_cache WHERE cache_key = @Key", new { Key = key }, cancellationToken: ct));
    }

    internal async Task PutCachedAsync(ExecutionLease held, string key, string stepType, string step, string outputs, CancellationToken ct)
    {
        await using var c = await store.OpenConnectionAsync(ct);
        await c.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO pipeline_step_cache (cache_key, step_type, outputs, execution_id, step, created_ms)
            SELECT @Key, @StepType, @Outputs, @ExecutionId, @Step, @CreatedMs
            WHERE EXISTS (SELECT 1 FROM pipeline_executions WHERE id = @ExecutionId AND epoch = @Epoch)
            ON CONFLICT (cache_key) DO NOTHING
            """,
            new { Key = key, StepType = stepType, Outputs = outputs, ExecutionId = held.Id, held.Epoch, Step = step, CreatedMs = Now },
            cancellationToken: ct));
    }

    internal static JsonObject ParseObject(string json) => JsonNode.Parse(json) as JsonObject ?? [];

    private static DateTimeOffset Time(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private static DateTimeOffset? TimeOrNull(long? ms) => ms is { } v ? Time(v) : null;
}

/// <summary>One server's hold on an execution: the epoch its claim raised the execution to.</summary>
internal sealed record ExecutionLease(string Id, long Epoch);

/// <summary>
/// Another server took the execution (its lease ran out: this server died, stalled or lost the database for
/// longer than the lease): this server must stop at once and write nothing more for it. A cancellation, so steps
/// unwind as they do on shutdown.
/// </summary>
public sealed class ExecutionFencedException : OperationCanceledException
{
    internal ExecutionFencedException(ExecutionLease lease)
        : base($"Execution {lease.Id} was taken over by another server (this server's epoch {lease.Epoch} is no longer current); it stops here and writes nothing more.")
    {
        ExecutionId = lease.Id;
    }

    public string ExecutionId { get; }
}
