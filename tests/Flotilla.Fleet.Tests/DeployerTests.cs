using Flotilla.Testing;
using Flotilla.Fleet.Aliases;
using Flotilla.Fleet.Deployments;
using Flotilla.Fleet.Models;
using Flotilla.Registry;
using Flotilla.Registry.Events;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Fleet.Tests;

public sealed class DeployerTests
{
    private const string Group = "multimodel-tiny";

    private static Task<ModelPackage> ApproveAsync(FleetCluster fleet, ModelPackage package) =>
        fleet.Registry.UpdateApprovalStatusAsync(package.Id, ApprovalStatus.Approved, null, "test", CancellationToken.None);

    private static Task<ModelPackage> RejectAsync(FleetCluster fleet, ModelPackage package) =>
        fleet.Registry.UpdateApprovalStatusAsync(package.Id, ApprovalStatus.Rejected, null, "test", CancellationToken.None);

    private static Task DeployedAsync(FleetCluster fleet, int? version, int silos = 1) =>
        FleetCluster.EventuallyAsync(() => Task.FromResult(Enumerable.Range(0, silos).All(s =>
            fleet.AliasCacheOf(s).TryGet(Group, out var d) ? d.Version == version : version is null)),
            version is null ? $"{Group} is undeployed on every silo" : $"{Group} v{version} is deployed on every silo");

    [Fact]
    public async Task Approving_a_version_deploys_it_preloaded_and_every_silo_resolves_the_group()
    {
        await using var fleet = await FleetCluster.StartAsync(silos: 2);
        var v1 = await fleet.RegisterAsync(Group, TinyModels.Artifact(1));

        await ApproveAsync(fleet, v1);
        await DeployedAsync(fleet, 1, silos: 2);

        Assert.True(Enumerable.Range(0, 2).Any(s =>
            fleet.Silo(s).GetRequiredService<ModelBudget>().Snapshot().Any(m => m.ArtifactSha256 == v1.Artifact.Sha256)),
            "the approved version's model is loaded before the alias points at it");
        var history = await fleet.Silo(0).GetRequiredService<AliasStore>().HistoryAsync(Group, CancellationToken.None);
        var record = Assert.Single(history);
        Assert.Equal((v1.Id, DeploymentReason.Approval, (DateTimeOffset?)null), (record.PackageId, record.Reason, record.To));
    }

    [Fact]
    public async Task A_version_whose_model_will_not_load_is_recorded_as_a_failed_deployment_and_the_alias_stays()
    {
        await using var fleet = await FleetCluster.StartAsync();
        var v1 = await fleet.RegisterAsync(Group, TinyModels.Artifact(1));
        await ApproveAsync(fleet, v1);
        await DeployedAsync(fleet, 1);
        var v2 = await fleet.RegisterAsync(Group, TinyModels.Artifact(2));
        await StoredArtifacts.ReplaceAsync(fleet.DataDirectory, v2.Artifact.Sha256, TinyModels.Artifact(3));

        await ApproveAsync(fleet, v2);

        var store = fleet.Silo(0).GetRequiredService<AliasStore>();
        DeploymentFailure? failure = null;
        await FleetCluster.EventuallyAsync(async () =>
            (failure = (await store.FailuresAsync(Group, CancellationToken.None)).SingleOrDefault()) is not null,
            "the failed deployment of v2 is recorded");
        Assert.Equal((v2.Id, 2, DeploymentReason.Approval), (failure!.PackageId, failure.Version, failure.Reason));
        Assert.Contains("SHA-256", failure.Error);
        Assert.True(fleet.AliasCacheOf(0).TryGet(Group, out var serving) && serving.Version == 1, "v1 keeps serving");
        Assert.Single(await store.HistoryAsync(Group, CancellationToken.None));
    }

    [Fact]
    public async Task Repeated_and_out_of_order_approvals_keep_the_latest_approved_version()
    {
        await using var fleet = await FleetCluster.StartAsync();
        var v1 = await fleet.RegisterAsync(Group, TinyModels.Artifact(1));
        var v2 = await fleet.RegisterAsync(Group, TinyModels.Artifact(2));
        await ApproveAsync(fleet, v2);
        await DeployedAsync(fleet, 2);

        // v1's approval arrives after v2's, then both events are delivered again.
        await ApproveAsync(fleet, v1);
        var deployer = fleet.Silo(0).GetServices<Registry.Events.IRegistryEventSubscriber>().OfType<Deployer>().Single();
        foreach (var package in new[] { v1, v2, v1 })
        {
            await deployer.HandleAsync(new Registry.Events.ApprovalStatusChanged(
                Guid.NewGuid().ToString("N"), Group, package.Id, package.Version, package.Artifact,
                ApprovalStatus.PendingManualApproval, ApprovalStatus.Approved, "test", DateTimeOffset.UtcNow), CancellationToken.None);
        }
        await fleet.Silo(0).GetRequiredService<Registry.Events.OutboxDispatcher>().DispatchDueAsync(CancellationToken.None);
        var outcome = await fleet.Grains.GetGrain<IDeploymentGrain>(Group).ReconcileAsync(DeploymentReason.Approval);

        Assert.False(outcome.Changed);
        Assert.Equal(2, outcome.Current!.Version);
        Assert.True(fleet.AliasCacheOf(0).TryGet(Group, out var cached));
        Assert.Equal(v2.Id, cached.PackageId);
        Assert.Single(await fleet.Silo(0).GetRequiredService<AliasStore>().HistoryAsync(Group, CancellationToken.None));
    }

    [Fact]
    public async Task Rejecting_the_deployed_version_reverts_to_the_previous_approved_one_then_undeploys()
    {
        await using var fleet = await FleetCluster.StartAsync();
        var v1 = await fleet.RegisterAsync(Group, TinyModels.Artifact(1), ApprovalStatus.Approved);
        var v2 = await fleet.RegisterAsync(Group, TinyModels.Artifact(2), ApprovalStatus.Approved);
        await DeployedAsync(fleet, 2);

        await RejectAsync(fleet, v2);
        await DeployedAsync(fleet, 1);
        await RejectAsync(fleet, v1);
        await DeployedAsync(fleet, null);

        var history = await fleet.Silo(0).GetRequiredService<AliasStore>().HistoryAsync(Group, CancellationToken.None);
        Assert.Equal(
            [(v2.Id, DeploymentReason.Approval, DeploymentReason.Rejection), (v1.Id, DeploymentReason.Rejection, DeploymentReason.Rejection)],
            history.Where(h => h.Sequence > history.Count - 2).Select(h => (h.PackageId, h.Reason, h.EndReason!.Value)));
        Assert.All(history, h => Assert.NotNull(h.To));
    }

    [Fact]
    public async Task A_version_is_pinned_by_hand_only_when_approved()
    {
        await using var fleet = await FleetCluster.StartAsync();
        await fleet.RegisterAsync(Group, TinyModels.Artifact(1), ApprovalStatus.Approved);
        await fleet.RegisterAsync(Group, TinyModels.Artifact(2), ApprovalStatus.Approved);
        await fleet.RegisterAsync(Group, TinyModels.Artifact(3));
        await DeployedAsync(fleet, 2);
        // v1's event may already deploy v2 (the group's latest approved); v2's own event must not land after the pin.
        var outbox = fleet.Silo(0).GetRequiredService<OutboxDispatcher>();
        await FleetCluster.EventuallyAsync(async () => await outbox.CountUndeliveredAsync(CancellationToken.None) == 0, "every registry event is delivered");
        var deployer = fleet.Grains.GetGrain<IDeploymentGrain>(Group);

        var pinned = await deployer.PinAsync(1);
        var pending = await deployer.PinAsync(3);
        var missing = await deployer.PinAsync(9);

        Assert.True(pinned.Changed);
        Assert.Equal(1, pinned.Current!.Version);
        Assert.Contains("PendingManualApproval", pending.Message);
        Assert.True(missing.NotFound);
        var last = (await fleet.Silo(0).GetRequiredService<AliasStore>().HistoryAsync(Group, CancellationToken.None))[^1];
        Assert.Equal((1, DeploymentReason.Manual), (last.Version, last.Reason));
    }

    [Fact]
    public async Task No_call_fails_while_the_alias_swaps_between_versions_under_load()
    {
        await using var fleet = await FleetCluster.StartAsync(silos: 2);
        var v1 = await fleet.RegisterAsync(Group, TinyModels.Artifact(1), ApprovalStatus.Approved);
        await DeployedAsync(fleet, 1, silos: 2);
        var clients = new[] { fleet.Silo(0).GetRequiredService<FleetClient>(), fleet.Silo(1).GetRequiredService<FleetClient>() };
        using var stop = new CancellationTokenSource();
        var served = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();

        var load = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            var client = clients[worker % 2];
            while (!stop.IsCancellationRequested)
            {
                if (!client.TryResolve(Group, out var sha))
                {
                    failures.Enqueue("the group did not resolve");
                    continue;
                }
                var result = await client.InvokeAsync(sha, new InvocationRequest(TinyModels.Row, PayloadFormat.Csv, PayloadFormat.Csv));
                if (result.Outcome == InvocationOutcome.Scored)
                {
                    served.AddOrUpdate(sha, 1, (_, n) => n + 1);
                }
                else
                {
                    failures.Enqueue($"{result.Outcome}: {result.Error}");
                }
            }
        })).ToArray();

        // Each version serves calls before the next replaces it: on a busy machine a swap can outpace the callers.
        Task ServedAsync(ModelPackage package) => FleetCluster.EventuallyAsync(
            () => Task.FromResult(served.ContainsKey(package.Artifact.Sha256)), $"version {package.Version} serves calls");
        await ServedAsync(v1);
        var latest = v1;
        for (var seed = 2; seed <= 4; seed++)
        {
            latest = await fleet.RegisterAsync(Group, TinyModels.Artifact(seed));
            await ApproveAsync(fleet, latest);
            await DeployedAsync(fleet, seed, silos: 2);
            await ServedAsync(latest);
        }
        await RejectAsync(fleet, latest);
        await DeployedAsync(fleet, 3, silos: 2);
        await stop.CancelAsync();
        await Task.WhenAll(load);

        Assert.Empty(failures);
        Assert.Equal(4, served.Count);
        Assert.All(served.Values, n => Assert.True(n > 0));
    }
}
