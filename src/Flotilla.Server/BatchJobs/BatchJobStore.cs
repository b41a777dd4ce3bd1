using Dapper;
using Flotilla.Contracts;
using Flotilla.Storage.Metadata;

namespace Flotilla.Server.BatchJobs;

/// <summary>The batch_jobs table, a component of its own in the metadata store (SQLite or PostgreSQL).</summary>
internal static class BatchJobSchema
{
    public const string Component = "batch-jobs";

    public static IReadOnlyList<Migration> Migrations { get; } =
    [
        new(Component, 1, """
            CREATE TABLE IF NOT EXISTS batch_jobs (
                id TEXT PRIMARY KEY,
                group_name TEXT,
                package_id TEXT NOT NULL,
                artifact_sha256 TEXT NOT NULL,
                dataset TEXT NOT NULL,
                output_name TEXT NOT NULL,
                status TEXT NOT NULL,
                rows_done BIGINT NOT NULL,
                rows_total BIGINT NOT NULL,
                failure_reason TEXT,
                result_sha256 TEXT,
                result_bytes BIGINT,
                created_by TEXT NOT NULL,
                created_ms BIGINT NOT NULL,
                started_ms BIGINT,
                ended_ms BIGINT,
                heartbeat_ms BIGINT);
            CREATE INDEX IF NOT EXISTS batch_jobs_by_status ON batch_jobs (status, created_ms);
            """),
    ];
}

/// <summary>
/// Jobs as rows. Every change of state is a conditional UPDATE on the expected status, so a cancel, a worker's
/// progress and another server's sweep of stale jobs never overwrite each other: the loser sees 0 rows changed.
/// </summary>
internal sealed class BatchJobStore(MetadataStore store, TimeProvider time)
{
    private sealed class Row
    {
        public string Id { get; set; } = "";
        public string? GroupName { get; set; }
        public string PackageId { get; set; } = "";
        public string ArtifactSha256 { get; set; } = "";
        public string Dataset { get; set; } = "";
        public string OutputName { get; set; } = "";
        public string Status { get; set; } = "";
        public long RowsDone { get; set; }
        public long RowsTotal { get; set; }
        public string? FailureReason { get; set; }
        public string? ResultSha256 { get; set; }
        public long? ResultBytes { get; set; }
        public string CreatedBy { get; set; } = "";
        public long CreatedMs { get; set; }
        public long? StartedMs { get; set; }
        public long? EndedMs { get; set; }

        public BatchJob ToJob() => new(
            Id, GroupName, PackageId, ArtifactSha256, Dataset, OutputName, Enum.Parse<BatchJobStatus>(Status), RowsDone, RowsTotal,
            FailureReason, ResultSha256, ResultBytes, CreatedBy, DateTimeOffset.FromUnixTimeMilliseconds(CreatedMs),
            StartedMs is { } s ? DateTimeOffset.FromUnixTimeMilliseconds(s) : null,
            EndedMs is { } e ? DateTimeOffset.FromUnixTimeMilliseconds(e) : null);
    }

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    public async Task<BatchJob> CreateAsync(
        string? group, string packageId, string artifactSha256, string dataset, string outputName, long rowsTotal, string createdBy, CancellationToken ct)
    {
        var row = new Row
        {
            Id = Guid.CreateVersion7().ToString("N"), GroupName = group, PackageId = packageId, ArtifactSha256 = artifactSha256,
            Dataset = dataset, OutputName = outputName, Status = nameof(BatchJobStatus.Queued), RowsTotal = rowsTotal,
            CreatedBy = createdBy, CreatedMs = Now,
        };
        await store.InTransactionAsync((c, t, token) => c.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO batch_jobs (id, group_name, package_id, artifact_sha256, dataset, output_name, status, rows_done, rows_total, created_by, created_ms)
            VALUES (@Id, @GroupName, @PackageId, @ArtifactSha256, @Dataset, @OutputName, @Status, 0, @RowsTotal, @CreatedBy, @CreatedMs)
            """, row, t, cancellationToken: token)), ct);
        return row.ToJob();
    }

    public async Task<BatchJob?> FindAsync(string id, CancellationToken ct)
    {
        await using var c = await store.OpenConnectionAsync(ct);
        var row = await c.QuerySingleOrDefaultAsync<Row>(new CommandDefinition("SELECT * FROM batch_jobs WHERE id = @id", new { id }, cancellationToken: ct));
        return row?.ToJob();
    }

    public async Task<IReadOnlyList<BatchJob>> ListAsync(int limit, CancellationToken ct)
    {
        await using var c = await store.OpenConnectionAsync(ct);
        var rows = await c.QueryAsync<Row>(new CommandDefinition(
            "SELECT * FROM batch_jobs ORDER BY created_ms DESC, id DESC LIMIT @limit", new { limit = (long)limit }, cancellationToken: ct));
        return [.. rows.Select(r => r.ToJob())];
    }

    /// <summary>Takes the oldest queued job for this server, or null when none waits (or another server took it first).</summary>
    public async Task<BatchJob?> TryClaimNextAsync(CancellationToken ct)
    {
        string? id;
        await using (var c = await store.OpenConnectionAsync(ct))
        {
            id = await c.QuerySingleOrDefaultAsync<string>(new CommandDefinition(
                "SELECT id FROM batch_jobs WHERE status = 'Queued' ORDER BY created_ms, id LIMIT 1", cancellationToken: ct));
        }
        if (id is null)
            return null;
        var claimed = await ExecuteAsync(
            "UPDATE batch_jobs SET status = 'Running', started_ms = @now, heartbeat_ms = @now WHERE id = @id AND status = 'Queued'",
            new { id, now = Now }, ct);
        return claimed == 1 ? await FindAsync(id, ct) : null;
    }

    /// <summary>Records progress (and that the job is alive); false when the job is no longer running (cancelled, failed by a sweep).</summary>
    public async Task<bool> ReportProgressAsync(string id, long rowsDone, CancellationToken ct) =>
        await ExecuteAsync(
            "UPDATE batch_jobs SET rows_done = @rowsDone, heartbeat_ms = @now WHERE id = @id AND status = 'Running'",
            new { id, rowsDone, now = Now }, ct) == 1;

    public async Task<bool> SucceedAsync(string id, long rowsDone, string resultSha256, long resultBytes, CancellationToken ct) =>
        await ExecuteAsync(
            """
            UPDATE batch_jobs SET status = 'Succeeded', rows_done = @rowsDone, rows_total = @rowsDone, result_sha256 = @resultSha256,
                result_bytes = @resultBytes, ended_ms = @now, heartbeat_ms = @now
            WHERE id = @id AND status = 'Running'
            """, new { id, rowsDone, resultSha256, resultBytes, now = Now }, ct) == 1;

    public async Task<bool> FailAsync(string id, string reason, CancellationToken ct) =>
        await ExecuteAsync(
            "UPDATE batch_jobs SET status = 'Failed', failure_reason = @reason, ended_ms = @now WHERE id = @id AND status IN ('Queued', 'Running')",
            new { id, reason, now = Now }, ct) == 1;

    /// <summary>Cancels a queued or running job; false when it had already ended.</summary>
    public async Task<bool> CancelAsync(string id, string by, CancellationToken ct) =>
        await ExecuteAsync(
            "UPDATE batch_jobs SET status = 'Cancelled', failure_reason = @reason, ended_ms = @now WHERE id = @id AND status IN ('Queued', 'Running')",
            new { id, reason = $"cancelled by {by}", now = Now }, ct) == 1;

    /// <summary>
    /// Fails every running job whose last progress is older than <paramref name="staleAfter"/> (zero: every running
    /// job, for a single server that just started) and returns their ids.
    /// </summary>
    public async Task<IReadOnlyList<string>> FailStaleAsync(TimeSpan staleAfter, string reason, CancellationToken ct)
    {
        var now = Now;
        var cutoff = now - (long)staleAfter.TotalMilliseconds;
        var ids = await store.InTransactionAsync((c, t, token) => c.QueryAsync<string>(new CommandDefinition(
            """
            UPDATE batch_jobs SET status = 'Failed', failure_reason = @reason, ended_ms = @now
            WHERE status = 'Running' AND (heartbeat_ms IS NULL OR heartbeat_ms <= @cutoff) RETURNING id
            """, new { reason, now, cutoff }, t, cancellationToken: token)), ct);
        return [.. ids];
    }

    private Task<int> ExecuteAsync(string sql, object parameters, CancellationToken ct) =>
        store.InTransactionAsync((c, t, token) => c.ExecuteAsync(new CommandDefinition(sql, parameters, t, cancellationToken: token)), ct);
}
