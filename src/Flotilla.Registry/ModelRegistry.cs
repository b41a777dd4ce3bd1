using System.Data.Common;
using System.Text.Json;
using System.Text.RegularExpressions;
using Dapper;
using Flotilla.Registry.Events;
using Flotilla.Storage.Artifacts;
using Flotilla.Storage.Metadata;

namespace Flotilla.Registry;

/// <summary>
/// Model package groups, their numbered versions and approvals. Every registration and every approval change
/// writes an <see cref="ApprovalStatusChanged"/> row to the outbox in the same transaction, so the event exists
/// exactly when the change does; the <see cref="OutboxDispatcher"/> delivers it.
/// </summary>
public sealed partial class ModelRegistry(MetadataStore store, TimeProvider timeProvider, OutboxSignal outboxSignal)
{
    private const int MaxGroupNameLength = 200;

    /// <summary>The group of a pipeline run on a dataset: <c>&lt;pipeline&gt;-&lt;dataset&gt;</c>.</summary>
    public static string GroupName(string pipeline, string dataset) => $"{pipeline}-{dataset}";

    public static string PackageId(string group, long version) => $"{group}-v{version}";

    /// <summary>
    /// Adds the next version of <see cref="RegisterModelPackage.Group"/> (making the group on its first package).
    /// Versions are 1, 2, 3… without gaps or duplicates however many registrations run at once: the group row's
    /// counter is incremented inside the transaction, which serialises concurrent registrations of one group.
    /// </summary>
    public async Task<ModelPackage> RegisterAsync(RegisterModelPackage request, CancellationToken cancellationToken) =>
        (await RegisterCoreAsync(request, reuseSameArtifact: false, null, cancellationToken)).Package;

    /// <summary>
    /// Like <see cref="RegisterAsync"/>, unless the group's latest version has the same artifact (SHA-256): then
    /// that version is returned and nothing is written, so re-running a fully cached execution does not pile up
    /// identical versions. The check and the registration share one transaction, so concurrent runs agree.
    /// <paramref name="precondition"/>, when given, runs first in that transaction: the caller's own condition on the
    /// same database (a pipeline step's "this server still holds the execution"), checked where no other writer can
    /// change it before the registration commits. Whatever it throws rolls the registration back and reaches the caller.
    /// </summary>
    public Task<(ModelPackage Package, bool Registered)> RegisterUnlessLatestAsync(
        RegisterModelPackage request, Func<DbConnection, DbTransaction, CancellationToken, Task>? precondition, CancellationToken cancellationToken) =>
        RegisterCoreAsync(request, reuseSameArtifact: true, precondition, cancellationToken);

    public Task<(ModelPackage Package, bool Registered)> RegisterUnlessLatestAsync(RegisterModelPackage request, CancellationToken cancellationToken) =>
        RegisterCoreAsync(request, reuseSameArtifact: true, null, cancellationToken);

    private async Task<(ModelPackage Package, bool Registered)> RegisterCoreAsync(
        RegisterModelPackage request, bool reuseSameArtifact, Func<DbConnection, DbTransaction, CancellationToken, Task>? precondition, CancellationToken cancellationToken)
    {
        ValidateGroupName(request.Group);
        if (request.ApprovalStatus == ApprovalStatus.Rejected)
            throw new ArgumentException("A package is registered as PendingManualApproval or Approved, not Rejected.", nameof(request));
        var report = ObjectOrEmpty(request.EvaluationReport);
        var parameters = ObjectOrEmpty(request.Parameters);
        var now = timeProvider.GetUtcNow();
        var nowMs = now.ToUnixTimeMilliseconds();
        var result = await store.InTransactionAsync<(ModelPackage Package, bool Registered)>(async (connection, transaction, ct) =>
        {
            if (precondition is not null)
            {
                await precondition(connection, transaction, ct);
            }
            await connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO registry_groups (name, latest_version, created_ms) VALUES (@Group, 0, @Now) ON CONFLICT (name) DO NOTHING",
                new { request.Group, Now = nowMs }, transaction, cancellationToken: ct));
            if (reuseSameArtifact)
            {
                // A no-op update takes the group row's lock first (PostgreSQL), so two runs cannot both see "different".
                await connection.ExecuteAsync(new CommandDefinition(
                    "UPDATE registry_groups SET latest_version = latest_version WHERE name = @Group",
                    new { request.Group }, transaction, cancellationToken: ct));
                var latest = (await connection.QueryAsync<PackageRow>(new CommandDefinition(
                    $"{SelectPackages} WHERE p.group_name = @Group ORDER BY p.version DESC LIMIT 1",
                    new { request.Group }, transaction, cancellationToken: ct))).Select(r => r.ToPackage()).FirstOrDefault();
                if (latest is not null && latest.Artifact.Sha256 == request.Artifact.Sha256)
                {
                    return (latest, false);
                }
            }
            var version = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "UPDATE registry_groups SET latest_version = latest_version + 1 WHERE name = @Group RETURNING latest_version",
                new { request.Group }, transaction, cancellationToken: ct));
            var package = new ModelPackage(
                PackageId(request.Group, version), request.Group, version, request.Artifact,
                report, parameters, request.Lineage,
                request.ApprovalStatus, request.ApprovalDescription, request.RegisteredBy, now, now);
            await connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO registry_packages (id, group_name, version, artifact_sha256, artifact_size, artifact_uri,
                    evaluation_report, parameters, execution_id, step_name, dataset_hash,
                    approval_status, approval_description, status_changed_by, status_changed_ms, created_ms, event_seq)
                VALUES (@Id, @Group, @Version, @Sha256, @Size, @Uri, @Report, @Parameters, @ExecutionId, @StepName, @DatasetHash,
                    @Status, @Description, @ChangedBy, @Now, @Now, 1)
                """,
                new
                {
                    package.Id, package.Group, package.Version,
                    request.Artifact.Sha256, request.Artifact.Size, Uri = request.Artifact.Uri.ToString(),
                    Report = report.GetRawText(), Parameters = parameters.GetRawText(),
                    request.Lineage.ExecutionId, request.Lineage.StepName, request.Lineage.DatasetHash,
                    Status = request.ApprovalStatus.ToString(), Description = request.ApprovalDescription,
                    ChangedBy = request.RegisteredBy, Now = nowMs,
                }, transaction, cancellationToken: ct));
            await WriteEventAsync(connection, transaction, package, 1, null, request.RegisteredBy, nowMs, ct);
            return (package, true);
        }, cancellationToken);
        if (result.Registered)
        {
            outboxSignal.Notify();
        }
        return result;
    }

    /// <summary>
    /// Approves or rejects a package, recording who, why and when, and writes the event in the same transaction.
    /// Setting the status it already has changes nothing and writes no event, so a repeated approval is harmless.
    /// </summary>
    /// <exception cref="ModelPackageNotFoundException">No package has this id.</exception>
    /// <exception cref="InvalidApprovalTransitionException">The change is not one of <see cref="ApprovalTransitions.Allowed"/>.</exception>
    public async Task<ModelPackage> UpdateApprovalStatusAsync(
        string packageId, ApprovalStatus status, string? description, string changedBy, CancellationToken cancellationToken)
    {
        while (true)
        {
            var nowMs = timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
            var (outcome, package) = await store.InTransactionAsync(async (connection, transaction, ct) =>
            {
                var current = await QueryPackageAsync(connection, transaction, "p.id = @Id", new { Id = packageId }, ct)
                    ?? throw new ModelPackageNotFoundException(packageId);
                if (current.ApprovalStatus == status)
                    return (Outcome.Unchanged, current);
                if (!ApprovalTransitions.IsAllowed(current.ApprovalStatus, status))
                    throw new InvalidApprovalTransitionException(packageId, current.ApprovalStatus, status);
                // Conditional on the status just read: if another writer changed it in between, nothing is updated
                // and the whole decision is taken again on the new status.
                // The package's event counter orders its events even when two share a millisecond.
                var sequence = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
                    """
                    UPDATE registry_packages
                    SET approval_status = @Status, approval_description = @Description, status_changed_by = @ChangedBy,
                        status_changed_ms = @Now, event_seq = event_seq + 1
                    WHERE id = @Id AND approval_status = @Expected
                    RETURNING event_seq
                    """,
                    new { Id = packageId, Status = status.ToString(), Description = description, ChangedBy = changedBy, Now = nowMs, Expected = current.ApprovalStatus.ToString() },
                    transaction, cancellationToken: ct));
                if (sequence is not { } packageSequence)
                    return (Outcome.Raced, current);
                var changed = current with
                {
                    ApprovalStatus = status,
                    ApprovalDescription = description,
                    StatusChangedBy = changedBy,
                    StatusChangedAt = DateTimeOffset.FromUnixTimeMilliseconds(nowMs),
                };
                await WriteEventAsync(connection, transaction, changed, packageSequence, current.ApprovalStatus, changedBy, nowMs, ct);
                return (Outcome.Changed, changed);
            }, cancellationToken);
            if (outcome == Outcome.Raced)
                continue;
            if (outcome == Outcome.Changed)
                outboxSignal.Notify();
            return package;
        }
    }

    public async Task<ModelPackage?> GetPackageAsync(string packageId, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        return await QueryPackageAsync(connection, null, "p.id = @Id", new { Id = packageId }, cancellationToken);
    }

    /// <summary>The highest version of <paramref name="group"/>, optionally only among packages with <paramref name="status"/>.</summary>
    public async Task<ModelPackage?> GetLatestAsync(string group, ApprovalStatus? status, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<PackageRow>(new CommandDefinition(
            $"{SelectPackages} WHERE p.group_name = @Group{StatusFilter(status)} ORDER BY p.version DESC LIMIT 1",
            new { Group = group, Status = status?.ToString() }, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToPackage()).FirstOrDefault();
    }

    public async Task<IReadOnlyList<ModelPackageGroup>> ListGroupsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<GroupRow>(new CommandDefinition(
            $"{SelectGroups} ORDER BY g.name", cancellationToken: cancellationToken));
        return [.. rows.Select(r => r.ToGroup())];
    }

    public async Task<ModelPackageGroup?> GetGroupAsync(string group, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<GroupRow>(new CommandDefinition(
            $"{SelectGroups} WHERE g.name = @Group", new { Group = group }, cancellationToken: cancellationToken));
        return row?.ToGroup();
    }

    /// <summary>The group's packages, newest first by <paramref name="sort"/>; empty if the group does not exist.</summary>
    public async Task<IReadOnlyList<ModelPackage>> ListPackagesAsync(
        string group, ApprovalStatus? status, PackageSort sort, CancellationToken cancellationToken)
    {
        var order = sort == PackageSort.Time ? "COALESCE(p.status_changed_ms, p.created_ms) DESC, p.version DESC" : "p.version DESC";
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<PackageRow>(new CommandDefinition(
            $"{SelectPackages} WHERE p.group_name = @Group{StatusFilter(status)} ORDER BY {order}",
            new { Group = group, Status = status?.ToString() }, cancellationToken: cancellationToken));
        return [.. rows.Select(r => r.ToPackage())];
    }

    private static async Task WriteEventAsync(
        DbConnection connection, DbTransaction transaction, ModelPackage package, long packageSequence, ApprovalStatus? oldStatus,
        string changedBy, long nowMs, CancellationToken ct) =>
        await connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO registry_outbox (id, group_name, package_id, package_seq, version, old_status, new_status, changed_by, occurred_ms, attempts, next_attempt_ms)
            VALUES (@Id, @Group, @PackageId, @PackageSequence, @Version, @OldStatus, @NewStatus, @ChangedBy, @Now, 0, @Now)
            """,
            new
            {
                Id = Guid.CreateVersion7().ToString("N"), package.Group, PackageId = package.Id, PackageSequence = packageSequence, package.Version,
                OldStatus = oldStatus?.ToString(), NewStatus = package.ApprovalStatus.ToString(), ChangedBy = changedBy, Now = nowMs,
            }, transaction, cancellationToken: ct));

    private static async Task<ModelPackage?> QueryPackageAsync(
        DbConnection connection, DbTransaction? transaction, string where, object parameters, CancellationToken ct)
    {
        var row = await connection.QuerySingleOrDefaultAsync<PackageRow>(new CommandDefinition(
            $"{SelectPackages} WHERE {where}", parameters, transaction, cancellationToken: ct));
        return row?.ToPackage();
    }

    /// <summary>A detached copy; an unset element (default) is stored as an empty object.</summary>
    private static JsonElement ObjectOrEmpty(JsonElement element) =>
        element.ValueKind == JsonValueKind.Undefined ? JsonSerializer.SerializeToElement(new { }) : element.Clone();

    private static string StatusFilter(ApprovalStatus? status) => status is null ? "" : " AND p.approval_status = @Status";

    private static void ValidateGroupName(string group)
    {
        if (string.IsNullOrEmpty(group) || group.Length > MaxGroupNameLength || !GroupNamePattern().IsMatch(group))
            throw new ArgumentException(
                $"'{group}' is not a valid model package group name: use 1 to {MaxGroupNameLength} letters, digits, '-', '_' or '.', starting with a letter or digit.",
                nameof(group));
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex GroupNamePattern();

    private enum Outcome { Unchanged, Changed, Raced }

    private const string SelectPackages = """
        SELECT p.id, p.group_name, p.version, p.artifact_sha256, p.artifact_size, p.artifact_uri, p.evaluation_report, p.parameters,
               p.execution_id, p.step_name, p.dataset_hash, p.approval_status, p.approval_description, p.status_changed_by,
               p.status_changed_ms, p.created_ms
        FROM registry_packages p
        """;

    private const string SelectGroups = """
        SELECT g.name, g.latest_version, g.created_ms,
               (SELECT COUNT(*) FROM registry_packages p WHERE p.group_name = g.name AND p.approval_status = 'Approved') AS approved_count
        FROM registry_groups g
        """;

    private sealed class PackageRow
    {
        public string Id { get; init; } = "";
        public string GroupName { get; init; } = "";
        public long Version { get; init; }
        public string ArtifactSha256 { get; init; } = "";
        public long ArtifactSize { get; init; }
        public string ArtifactUri { get; init; } = "";
        public string EvaluationReport { get; init; } = "{}";
        public string Parameters { get; init; } = "{}";
        public string? ExecutionId { get; init; }
        public string? StepName { get; init; }
        public string? DatasetHash { get; init; }
        public string ApprovalStatus { get; init; } = "";
        public string? ApprovalDescription { get; init; }
        public string? StatusChangedBy { get; init; }
        public long? StatusChangedMs { get; init; }
        public long CreatedMs { get; init; }

        public ModelPackage ToPackage() => new(
            Id, GroupName, Version,
            new ArtifactRef(ArtifactSha256, ArtifactSize, ArtifactRef.ParseLocation(ArtifactUri)),
            ParseJson(EvaluationReport), ParseJson(Parameters),
            new PackageLineage(ExecutionId, StepName, DatasetHash),
            Enum.Parse<ApprovalStatus>(ApprovalStatus), ApprovalDescription, StatusChangedBy,
            StatusChangedMs is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null,
            DateTimeOffset.FromUnixTimeMilliseconds(CreatedMs));

        private static JsonElement ParseJson(string json)
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.Clone();
        }
    }

    private sealed class GroupRow
    {
        public string Name { get; init; } = "";
        public long LatestVersion { get; init; }
        public long CreatedMs { get; init; }
        public long ApprovedCount { get; init; }

        public ModelPackageGroup ToGroup() => new(Name, LatestVersion, ApprovedCount, DateTimeOffset.FromUnixTimeMilliseconds(CreatedMs));
    }
}
