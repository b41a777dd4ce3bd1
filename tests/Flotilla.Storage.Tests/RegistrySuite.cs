using System.Text.Json;
using Dapper;
using Flotilla.Registry;
using Flotilla.Registry.Events;
using Flotilla.Storage.Artifacts;
using Flotilla.Storage.Metadata;
using Microsoft.Extensions.Time.Testing;

namespace Flotilla.Storage.Tests;

public sealed class SqliteRegistryTests(SqliteBackend backend) : RegistrySuite(backend), IClassFixture<SqliteBackend>;

public sealed class PostgresRegistryTests(PostgresBackend backend) : RegistrySuite(backend), IClassFixture<PostgresBackend>;

/// <summary>The model registry's contract, run once per metadata backend.</summary>
public abstract class RegistrySuite(IBackend backend)
{
    private const string Group = "multimodel-breast-cancer";
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task The_first_registration_makes_the_group_and_version_1()
    {
        await using var store = backend.Open(await backend.NewDatabaseAsync(), RegistrySchema.Migrations, _time);
        var registry = Registry(store);

        var package = await registry.RegisterAsync(Registration(ModelRegistry.GroupName("multimodel", "breast-cancer")), CancellationToken.None);

        Assert.Equal((Group, 1L, "multimodel-breast-cancer-v1"), (package.Group, package.Version, package.Id));
        var group = Assert.Single(await registry.ListGroupsAsync(CancellationToken.None));
        Assert.Equal(new ModelPackageGroup(Group, 1, 0, _time.GetUtcNow()), group);
    }

    [Fact]
    public async Task A_package_keeps_its_artifact_report_parameters_and_lineage()
    {
        await using var store = backend.Open(await backend.NewDatabaseAsync(), RegistrySchema.Migrations, _time);
        var registry = Registry(store);
        var registered = await registry.RegisterAsync(Registration(Group, auc: 0.97), CancellationToken.None);

        var read = await registry.GetPackageAsync(registered.Id, CancellationToken.None);

        Assert.NotNull(read);
        Assert.Equal(registered.Artifact, read.Artifact);
        Assert.Equal(0.97, read.EvaluationReport.GetProperty("auc").GetDouble());
        Assert.Equal("[1,0,0,1]", read.EvaluationReport.GetProperty("confusion").GetRawText());
        Assert.Equal(12, read.Parameters.GetProperty("MaxTuningJobs").GetInt32());
        Assert.Equal(new PackageLineage("exec-1", "RegisterModel", "d1ce"), read.Lineage);
        Assert.Equal((ApprovalStatus.PendingManualApproval, "pipeline", _time.GetUtcNow()), (read.ApprovalStatus, read.StatusChangedBy, read.CreatedAt));
    }

    [Fact]
    public async Task A_registration_without_report_or_parameters_stores_empty_objects()
    {
        await using var store = backend.Open(await backend.NewDatabaseAsync(), RegistrySchema.Migrations, _time);
        var registry = Registry(store);

        var package = await registry.RegisterAsync(Registration(Group) with { EvaluationReport = default, Parameters = default }, CancellationToken.None);

        var read = await registry.GetPackageAsync(package.Id, CancellationToken.None);
        Assert.Equal(("{}", "{}"), (read!.EvaluationReport.GetRawText(), read.Parameters.GetRawText()));
    }

    [Fact]
    public async Task Concurrent_registrations_from_two_processes_number_versions_without_gaps_or_duplicates()
    {
        var database = await backend.NewDatabaseAsync();
        await using var first = backend.Open(database, RegistrySchema.Migrations);
        await using var second = backend.Open(database, RegistrySchema.Migrations);
        var registries = new[] { Registry(first), Registry(second) };

        var packages = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => Task.Run(() =>
            registries[i % 2].RegisterAsync(Registration(i % 3 == 0 ? "other-group" : Group), CancellationToken.None))));

        Assert.Equal(Enumerable.Range(1, 16).Select(v => (long)v), packages.Where(p => p.Group == Group).Select(p => p.Version).Order());
        Assert.Equal(Enumerable.Range(1, 8).Select(v => (long)v), packages.Where(p => p.Group == "other-group").Select(p => p.Version).Order());
        var listed = await registries[0].ListPackagesAsync(Group, null, PackageSort.Version, CancellationToken.None);
        Assert.Equal(Enumerable.Range(1, 16).Reverse().Select(v => (long)v), listed.Select(p => p.Version));
    }

    [Fact]
    public async Task Concurrent_registrations_of_the_latest_versions_artifact_all_report_that_version()
    {
        var database = await backend.NewDatabaseAsync();
        await using var first = backend.Open(database, RegistrySchema.Migrations);
        await using var second = backend.Open(database, RegistrySchema.Migrations);
        var registries = new[] { Registry(first), Registry(second) };
        var other = Registration(Group) with { Artifact = new ArtifactRef(new string('b', 64), 99, new Uri("file:///artifacts/sha256/bb/" + new string('b', 64))) };

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() =>
            registries[i % 2].RegisterUnlessLatestAsync(Registration(Group), CancellationToken.None))));
        var changed = await registries[0].RegisterUnlessLatestAsync(other, CancellationToken.None);

        Assert.Single(results, r => r.Registered);
        Assert.All(results, r => Assert.Equal(1, r.Package.Version));
        Assert.Equal((2L, true), (changed.Package.Version, changed.Registered));
        Assert.Equal(2, (await registries[0].ListPackagesAsync(Group, null, PackageSort.Version, CancellationToken.None)).Count);
    }

    [Fact]
    public async Task Approving_records_who_why_and_when_and_writes_the_event_in_the_same_transaction()
    {
        await using var store = backend.Open(await backend.NewDatabaseAsync(), RegistrySchema.Migrations, _time);
        var registry = Registry(store);
        var package = await registry.RegisterAsync(Registration(Group), CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(5));

        var approved = await registry.UpdateApprovalStatusAsync(package.Id, ApprovalStatus.Approved, "beats v0 on auc", "ana", CancellationToken.None);

        Assert.Equal((ApprovalStatus.Approved, "beats v0 on auc", "ana", _time.GetUtcNow()),
            (approved.ApprovalStatus, approved.ApprovalDescription, approved.StatusChangedBy, approved.StatusChangedAt));
        var read = await registry.GetPackageAsync(package.Id, CancellationToken.None);
        Assert.Equal((approved.ApprovalStatus, approved.ApprovalDescription, approved.StatusChangedBy, approved.StatusChangedAt),
            (read!.ApprovalStatus, read.ApprovalDescription, read.StatusChangedBy, read.StatusChangedAt));
        Assert.Equal(
            [(null, "PendingManualApproval"), ("PendingManualApproval", "Approved")],
            await EventsAsync(store, package.Id));
    }

    [Theory]
    [InlineData(ApprovalStatus.Approved, ApprovalStatus.PendingManualApproval)]
    [InlineData(ApprovalStatus.Rejected, ApprovalStatus.PendingManualApproval)]
    public async Task A_decided_package_cannot_go_back_to_pending(ApprovalStatus decided, ApprovalStatus target)
    {
        await using var store = backend.Open(await backend.NewDatabaseAsync(), RegistrySchema.Migrations, _time);
        var registry = Registry(store);
        var package = await registry.RegisterAsync(Registration(Group), CancellationToken.None);
        await registry.UpdateApprovalStatusAsync(package.Id, decided, null, "ana", CancellationToken.None);

        var error = await Assert.ThrowsAsync<InvalidApprovalTransitionException>(() =>
            registry.UpdateApprovalStatusAsync(package.Id, target, null, "ana", CancellationToken.None));

        Assert.Contains($"from {decided} to {target}", error.Message);
        Assert.Equal(decided, (await registry.GetPackageAsync(package.Id, CancellationToken.None))!.ApprovalStatus);
        Assert.Equal(2, (await EventsAsync(store, package.Id)).Count);
    }

    [Fact]
    public async Task A_decision_can_be_reversed_and_repeating_it_changes_nothing()
    {
        await using var store = backend.Open(await backend.NewDatabaseAsync(), RegistrySchema.Migrations, _time);
        var registry = Registry(store);
        var package = await registry.RegisterAsync(Registration(Group), CancellationToken.None);

        await registry.UpdateApprovalStatusAsync(package.Id, ApprovalStatus.Rejected, "too slow", "ana", CancellationToken.None);
        await registry.UpdateApprovalStatusAsync(package.Id, ApprovalStatus.Approved, "fine after all", "bo", CancellationToken.None);
        var repeated = await registry.UpdateApprovalStatusAsync(package.Id, ApprovalStatus.Approved, "again", "cy", CancellationToken.None);

        Assert.Equal(("fine after all", "bo"), (repeated.ApprovalDescription, repeated.StatusChangedBy));
        Assert.Equal(
            [(null, "PendingManualApproval"), ("PendingManualApproval", "Rejected"), ("Rejected", "Approved")],
            await EventsAsync(store, package.Id));
    }

    [Fact]
    public async Task An_unknown_package_is_reported_by_its_id()
    {
        await using var store = backend.Open(await backend.NewDatabaseAsync(), RegistrySchema.Migrations, _time);
        var registry = Registry(store);

        var error = await Assert.ThrowsAsync<ModelPackageNotFoundException>(() =>
            registry.UpdateApprovalStatusAsync("nope-v9", ApprovalStatus.Approved, null, "ana", CancellationToken.None));

        Assert.Contains("'nope-v9'", error.Message);
        Assert.Null(await registry.GetPackageAsync("nope-v9", CancellationToken.None));
    }

    [Fact]
    public async Task Concurrent_approvals_and_rejections_leave_an_unbroken_chain_of_events()
    {
        var database = await backend.NewDatabaseAsync();
        await using var first = backend.Open(database, RegistrySchema.Migrations);
        await using var second = backend.Open(database, RegistrySchema.Migrations);
        var registries = new[] { Registry(first), Registry(second) };
        var package = await registries[0].RegisterAsync(Registration(Group), CancellationToken.None);

        await Task.WhenAll(Enumerable.Range(0, 24).Select(i => Task.Run(() => registries[i % 2].UpdateApprovalStatusAsync(
            package.Id, i % 4 < 2 ? ApprovalStatus.Approved : ApprovalStatus.Rejected, $"decision {i}", $"user{i}", CancellationToken.None))));

        // Each event starts from the status the previous one ended in, and the last one is the package's status.
        var events = await EventsAsync(first, package.Id);
        for (var i = 1; i < events.Count; i++)
            Assert.Equal(events[i - 1].New, events[i].Old);
        var final = await registries[0].GetPackageAsync(package.Id, CancellationToken.None);
        Assert.Equal(events[^1].New, final!.ApprovalStatus.ToString());
    }

    [Fact]
    public async Task Packages_are_filtered_by_status_and_sorted_by_version_or_time()
    {
        await using var store = backend.Open(await backend.NewDatabaseAsync(), RegistrySchema.Migrations, _time);
        var registry = Registry(store);
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add((await registry.RegisterAsync(Registration(Group), CancellationToken.None)).Id);
            _time.Advance(TimeSpan.FromMinutes(1));
        }
        // Approve v1 last, so by time it is the most recent change.
        await registry.UpdateApprovalStatusAsync(ids[2], ApprovalStatus.Approved, null, "ana", CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(1));
        await registry.UpdateApprovalStatusAsync(ids[3], ApprovalStatus.Rejected, null, "ana", CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(1));
        await registry.UpdateApprovalStatusAsync(ids[0], ApprovalStatus.Approved, null, "ana", CancellationToken.None);

        var approvedByVersion = await registry.ListPackagesAsync(Group, ApprovalStatus.Approved, PackageSort.Version, CancellationToken.None);
        var allByTime = await registry.ListPackagesAsync(Group, null, PackageSort.Time, CancellationToken.None);
        var latestApproved = await registry.GetLatestAsync(Group, ApprovalStatus.Approved, CancellationToken.None);

        Assert.Equal([3L, 1L], approvedByVersion.Select(p => p.Version));
        Assert.Equal([1L, 4L, 3L, 2L], allByTime.Select(p => p.Version));
        Assert.Equal(3L, latestApproved!.Version);
        Assert.Equal(2L, (await registry.GetGroupAsync(Group, CancellationToken.None))!.ApprovedCount);
        Assert.Empty(await registry.ListPackagesAsync("no-such-group", null, PackageSort.Version, CancellationToken.None));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("-leading-dash")]
    [InlineData("slash/inside")]
    public async Task A_bad_group_name_is_refused_with_the_rule(string group)
    {
        await using var store = backend.Open(await backend.NewDatabaseAsync(), RegistrySchema.Migrations, _time);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => Registry(store).RegisterAsync(Registration(group), CancellationToken.None));

        Assert.Contains("letters, digits", error.Message);
    }

    private ModelRegistry Registry(MetadataStore store) => new(store, _time, new OutboxSignal());

    internal static RegisterModelPackage Registration(string group, double auc = 0.9) => new(
        group,
        new ArtifactRef(new string('a', 64), 1234, new Uri("file:///artifacts/sha256/aa/" + new string('a', 64))),
        JsonSerializer.SerializeToElement(new { auc, accuracy = 0.91, confusion = new[] { 1, 0, 0, 1 } }),
        JsonSerializer.SerializeToElement(new { MaxTuningJobs = 12, DatasetName = "breast-cancer" }),
        new PackageLineage("exec-1", "RegisterModel", "d1ce"));

    internal static async Task<List<(string? Old, string New)>> EventsAsync(MetadataStore store, string packageId)
    {
        await using var connection = await store.OpenConnectionAsync(CancellationToken.None);
        var rows = await connection.QueryAsync<(string? Old, string New)>(
            "SELECT old_status, new_status FROM registry_outbox WHERE package_id = @Id ORDER BY package_seq", new { Id = packageId });
        return [.. rows];
    }
}
