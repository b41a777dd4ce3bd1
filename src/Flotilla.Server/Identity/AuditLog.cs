using System.Collections.Concurrent;
using System.Text.Json;
using Dapper;
using Flotilla.Contracts;
using Flotilla.Storage.Metadata;

namespace Flotilla.Server.Identity;

/// <summary>
/// The audit log, append-only in the metadata store. The one update it allows is the repeat count of an
/// anonymous refusal: a client hammering the API without a key folds into one entry per
/// <see cref="FoldWindow"/> instead of flooding the table.
/// </summary>
internal sealed class AuditLog(MetadataStore store, TimeProvider time)
{
    public static readonly TimeSpan FoldWindow = TimeSpan.FromMinutes(1);
    private const int MaxFolds = 10_000;

    private readonly ConcurrentDictionary<string, (string Id, DateTimeOffset Since)> _folds = new(StringComparer.Ordinal);

    private sealed class Row
    {
        public string Id { get; set; } = "";
        public long AtMs { get; set; }
        public string Actor { get; set; } = "";
        public string ActorId { get; set; } = "";
        public string Roles { get; set; } = "[]";
        public string Action { get; set; } = "";
        public string Target { get; set; } = "";
        public string Path { get; set; } = "";
        public long Status { get; set; }
        public string Client { get; set; } = "";
        public long Repeats { get; set; }

        public AuditEntry ToEntry() => new(Id, DateTimeOffset.FromUnixTimeMilliseconds(AtMs), Actor, ActorId,
            JsonSerializer.Deserialize<string[]>(Roles) ?? [], Action, Target, Path, (int)Status, Client, Repeats);
    }

    public async Task RecordAsync(string actor, string actorId, IReadOnlyList<string> roles, string action, string target, string path, int status,
        string client, bool anonymousRefusal, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        await using var connection = await store.OpenConnectionAsync(ct);
        if (anonymousRefusal && _folds.TryGetValue(client, out var fold) && now - fold.Since < FoldWindow)
        {
            var updated = await connection.ExecuteAsync(new CommandDefinition(
                "UPDATE audit_log SET repeats = repeats + 1 WHERE id = @Id", new { fold.Id }, cancellationToken: ct));
            if (updated == 1)
                return;
        }
        var row = new Row
        {
            Id = Guid.CreateVersion7().ToString("N"),
            AtMs = now.ToUnixTimeMilliseconds(),
            Actor = actor,
            ActorId = actorId,
            Roles = JsonSerializer.Serialize(roles),
            Action = action,
            Target = target,
            Path = path,
            Status = status,
            Client = client,
            Repeats = 1,
        };
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO audit_log (id, at_ms, actor, actor_id, roles, action, target, path, status, client, repeats)
            VALUES (@Id, @AtMs, @Actor, @ActorId, @Roles, @Action, @Target, @Path, @Status, @Client, @Repeats)
            """, row, cancellationToken: ct));
        if (anonymousRefusal)
        {
            // One entry per address and window: forget the closed windows before the map could grow with addresses.
            if (_folds.Count >= MaxFolds)
            {
                foreach (var (address, open) in _folds)
                {
                    if (now - open.Since >= FoldWindow)
                        _folds.TryRemove(address, out _);
                }
            }
            _folds[client] = (row.Id, now);
        }
    }

    public async Task<IReadOnlyList<AuditEntry>> QueryAsync(string? actor, string? target, DateTimeOffset? since, int limit, CancellationToken ct)
    {
        await using var connection = await store.OpenConnectionAsync(ct);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(
            """
            SELECT * FROM audit_log
            WHERE (@actor IS NULL OR actor = @actor)
              AND (@target IS NULL OR target = @target)
              AND at_ms >= @since
            ORDER BY at_ms DESC, id DESC
            LIMIT @limit
            """,
            new { actor, target, since = since?.ToUnixTimeMilliseconds() ?? 0L, limit }, cancellationToken: ct));
        return [.. rows.Select(r => r.ToEntry())];
    }

    /// <summary>The principal id that started an execution, from the audit entry of its start; null when it was not started through the API.</summary>
    public async Task<string?> StarterOfAsync(string executionId, CancellationToken ct)
    {
        await using var connection = await store.OpenConnectionAsync(ct);
        return await connection.QueryFirstOrDefaultAsync<string>(new CommandDefinition(
            "SELECT actor_id FROM audit_log WHERE target = @executionId AND action = @action AND status < 300 ORDER BY at_ms LIMIT 1",
            new { executionId, action = AuditActions.StartExecution }, cancellationToken: ct));
    }
}
