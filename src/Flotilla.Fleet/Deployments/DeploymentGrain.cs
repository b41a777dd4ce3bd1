using Flotilla.Fleet.Aliases;
using Flotilla.Fleet.Hosting;
using Flotilla.Fleet.Models;
using Flotilla.Fleet.Monitoring;
using Flotilla.Fleet.Rollout;
using Flotilla.Registry;
using Microsoft.Extensions.Logging;

namespace Flotilla.Fleet.Deployments;

/// <summary>
/// The deployer of one group. Being a grain, it runs one deployment at a time per group; it decides from the
/// registry's current state rather than from the event that woke it, so repeated and out-of-order events
/// converge on the same alias.
/// </summary>
public interface IDeploymentGrain : IGrainWithStringKey
{
    /// <summary>
    /// Brings the alias in line with the registry after an approval change: a newer approved version is
    /// deployed; a deployed version that is no longer approved gives way to the latest approved one, or to nothing.
    /// </summary>
    Task<DeploymentOutcome> ReconcileAsync(DeploymentReason reason, CancellationToken cancellationToken = default);

    /// <summary>Deploys one approved version by hand.</summary>
    Task<DeploymentOutcome> PinAsync(int version, CancellationToken cancellationToken = default);

    /// <summary>
    /// Splits the group's calls across approved versions by weight (reason: manual), every version loaded before
    /// the alias changes; with <paramref name="stickyHeader"/>, a caller sending that header keeps one version.
    /// With <paramref name="shadow"/>, that version (approved or still pending) also scores a copy of its percent of
    /// the calls. No routes keeps the ones the alias has (to add or change only the shadow).
    /// </summary>
    Task<DeploymentOutcome> SplitAsync(IReadOnlyList<RouteWeight> routes, string? stickyHeader, ShadowWeight? shadow, CancellationToken cancellationToken = default);

    /// <summary>
    /// Moves the group's canary rollout on, if one is in progress: compares the new version with the previous one
    /// over the current step, rolls it back when worse, or goes to the next step once the step has baked.
    /// </summary>
    Task<CanaryRollout?> AdvanceRolloutAsync(CancellationToken cancellationToken = default);
}

/// <summary>One version of a requested split and its weight.</summary>
[GenerateSerializer, Immutable]
public sealed record RouteWeight([property: Id(0)] int Version, [property: Id(1)] int Weight);

/// <summary>A requested shadow: the version and the percent of calls it sees a copy of.</summary>
[GenerateSerializer, Immutable]
public sealed record ShadowWeight([property: Id(0)] int Version, [property: Id(1)] int Percent);

/// <summary>What a deployment attempt did. <see cref="Current"/> is the alias afterwards (null: undeployed).</summary>
[GenerateSerializer, Immutable]
public sealed record DeploymentOutcome(
    [property: Id(0)] bool Deployed,
    [property: Id(1)] bool Changed,
    [property: Id(2)] bool NotFound,
    [property: Id(3)] string Message,
    [property: Id(4)] Deployment? Current);

internal sealed partial class DeploymentGrain(
    IGrainContext context,
    IGrainFactory grains,
    ModelRouter router,
    ModelRegistry registry,
    AliasStore store,
    RolloutStore rollouts,
    FleetClient fleet,
    TimeProvider time,
    ILiveModelMetrics live,
    ILogger<DeploymentGrain> logger) : IGrainBase, IDeploymentGrain
{
    private readonly string _group = context.GrainId.Key.ToString()!;
    private Deployment? _current;

    public IGrainContext GrainContext => context;

    public async Task OnActivateAsync(CancellationToken token) => _current = await store.GetAsync(_group, token);

    public async Task<DeploymentOutcome> ReconcileAsync(DeploymentReason reason, CancellationToken cancellationToken)
    {
        var latest = await registry.GetLatestAsync(_group, ApprovalStatus.Approved, cancellationToken);
        var currentStillApproved = _current is not null;
        IEnumerable<string> serving = _current is null ? [] : _current.Policy is { } policy ? policy.Routes.Select(r => r.PackageId) : [_current.PackageId];
        foreach (var packageId in serving)
        {
            // A split stays only while every one of its versions is approved.
            currentStillApproved &= (await registry.GetPackageAsync(packageId, cancellationToken))?.ApprovalStatus == ApprovalStatus.Approved;
        }

        // A deployed, still approved version only gives way to a newer approved one: a stale or repeated event
        // never moves the alias backwards, and a manual pin survives events about other versions.
        // A split counts as its newest version: only an approval newer than all of its routes ends it.
        if (currentStillApproved && (latest is null || latest.Version <= (_current!.Policy?.Routes.Max(r => r.Version) ?? _current.Version)))
        {
            return Unchanged($"Group '{_group}' keeps version {_current!.Version}.");
        }
        var why = currentStillApproved || _current is null ? reason : DeploymentReason.Rejection;
        if (latest is null)
        {
            return _current is null
                ? Unchanged($"Group '{_group}' has no approved version; nothing is deployed.")
                : await MoveAsync(null, why, cancellationToken);
        }
        if (latest.Id == _current?.PackageId && (_current.Policy is null || _current.Policy.Routes.Count == 1))
        {
            return Unchanged($"Group '{_group}' already serves version {latest.Version}.");
        }
        if (currentStillApproved && await TryStartCanaryAsync(latest, cancellationToken) is { } canary)
        {
            return canary;
        }
        await EndRolloutAsync(RolloutState.Cancelled, $"the alias moved to version {latest.Version} ({why}) before the canary ended", except: (int)latest.Version, cancellationToken);
        return await MoveAsync(latest, why, cancellationToken);
    }

    public async Task<DeploymentOutcome> PinAsync(int version, CancellationToken cancellationToken)
    {
        var package = await registry.GetPackageAsync(ModelRegistry.PackageId(_group, version), cancellationToken);
        if (package is null)
        {
            return new DeploymentOutcome(false, false, true,
                $"Group '{_group}' has no version {version}; list its versions with GET /api/registry/groups/{_group}/packages.", _current);
        }
        if (package.ApprovalStatus != ApprovalStatus.Approved)
        {
            return new DeploymentOutcome(false, false, false,
                $"Version {version} of '{_group}' is {package.ApprovalStatus}; only approved versions are deployed. Approve it first.", _current);
        }
        if (package.Id == _current?.PackageId && _current.Policy is null)
        {
            return Unchanged($"Group '{_group}' already serves version {version}.");
        }
        await EndRolloutAsync(RolloutState.Cancelled, $"an operator pinned version {version} by hand", except: null, cancellationToken);
        return await MoveAsync(package, DeploymentReason.Manual, cancellationToken);
    }

    public async Task<DeploymentOutcome> SplitAsync(IReadOnlyList<RouteWeight> routes, string? stickyHeader, ShadowWeight? shadow, CancellationToken cancellationToken)
    {
        if (routes.Count == 0)
        {
            if (_current is null)
            {
                return new DeploymentOutcome(false, false, false,
                    $"Group '{_group}' serves nothing yet: name the version or routes the shadow goes beside.", _current);
            }
            routes = _current.Policy is { } kept ? [.. kept.Routes.Select(r => new RouteWeight(r.Version, r.Weight))] : [new RouteWeight(_current.Version, 1)];
            stickyHeader ??= _current.Policy?.StickyHeader;
        }
        var chosen = new List<(ModelPackage Package, int Weight)>(routes.Count);
        foreach (var route in routes)
        {
            var package = await registry.GetPackageAsync(ModelRegistry.PackageId(_group, route.Version), cancellationToken);
            if (package is null)
            {
                return new DeploymentOutcome(false, false, true,
                    $"Group '{_group}' has no version {route.Version}; list its versions with GET /api/registry/groups/{_group}/packages.", _current);
            }
            if (package.ApprovalStatus != ApprovalStatus.Approved)
            {
                return new DeploymentOutcome(false, false, false,
                    $"Version {route.Version} of '{_group}' is {package.ApprovalStatus}; routes take approved versions only. Approve it first.", _current);
            }
            chosen.Add((package, route.Weight));
        }
        ModelPackage? shadowPackage = null;
        if (shadow is not null)
        {
            shadowPackage = await registry.GetPackageAsync(ModelRegistry.PackageId(_group, shadow.Version), cancellationToken);
            if (shadowPackage is null)
            {
                return new DeploymentOutcome(false, false, true,
                    $"Group '{_group}' has no version {shadow.Version} to shadow; list its versions with GET /api/registry/groups/{_group}/packages.", _current);
            }
            if (shadowPackage.ApprovalStatus == ApprovalStatus.Rejected)
            {
                return new DeploymentOutcome(false, false, false,
                    $"Version {shadow.Version} of '{_group}' is Rejected; a shadow may be approved or pending approval, not rejected.", _current);
            }
            if (chosen.Any(c => c.Package.Version == shadow.Version))
            {
                return new DeploymentOutcome(false, false, false,
                    $"Version {shadow.Version} of '{_group}' already answers calls; shadow a version that is not one of the routes.", _current);
            }
        }
        await EndRolloutAsync(RolloutState.Cancelled, "an operator changed the alias's routes by hand", except: null, cancellationToken);
        return await SplitCoreAsync(chosen, stickyHeader, shadowPackage, shadow?.Percent ?? 0, DeploymentReason.Manual, cancellationToken);
    }

    /// <summary>
    /// Loads every version of the split (and the shadow), then moves the alias durably and pushes it to every silo.
    /// As in <see cref="MoveAsync"/>, the token can stop the loads, not the move once it starts.
    /// </summary>
    private async Task<DeploymentOutcome> SplitCoreAsync(
        IReadOnlyList<(ModelPackage Package, int Weight)> chosen, string? stickyHeader, ModelPackage? shadowPackage, int shadowPercent, DeploymentReason reason,
        CancellationToken cancellationToken)
    {
        // Every version loaded before the alias changes, so no call after the change waits for a load.
        foreach (var (package, _) in shadowPackage is null ? chosen : chosen.Append((shadowPackage, 0)))
        {
            var warm = await router.WarmAsync(package.Artifact.Sha256, cancellationToken);
            if (!warm.Loaded)
            {
                LogNotDeployed(_group, package.Version, warm.Error!);
                await store.RecordFailureAsync(_group, package.Id, (int)package.Version, package.Artifact.Sha256, reason, warm.Error!, CancellationToken.None);
                return new DeploymentOutcome(false, false, false,
                    $"The split of '{_group}' was not deployed: version {package.Version} cannot load: {warm.Error}", _current);
            }
        }
        var policy = new TrafficPolicy(
            [.. chosen.Select(c => new Route((int)c.Package.Version, c.Package.Id, c.Package.Artifact.Sha256, c.Weight))], stickyHeader,
            shadowPackage is null ? null : new ShadowRoute((int)shadowPackage.Version, shadowPackage.Id, shadowPackage.Artifact.Sha256, shadowPercent));
        var primary = chosen.OrderByDescending(c => c.Weight).First().Package;
        var previous = _current;
        _current = await store.MoveAsync(
            _group, (primary.Id, (int)primary.Version, primary.Artifact.Sha256), reason, CancellationToken.None, policy);
        await BroadcastAsync(_current);
        LogMoved(_group, previous?.Version, _current?.Version, reason);
        return new DeploymentOutcome(true, true, false,
            $"Group '{_group}' splits its calls: {string.Join(", ", policy.Routes.Select(r => $"version {r.Version} weight {r.Weight}"))}{(stickyHeader is null ? "" : $", sticky on {stickyHeader}")}{(policy.Shadow is { } s ? $"; version {s.Version} shadows {s.Percent} % of them" : "")}.",
            _current);
    }

    /// <summary>
    /// Loads the new version first (so the first call after the swap is warm), then moves the alias durably,
    /// then pushes it to every silo's cache. Calls in flight on the old version finish on it; it stays loaded
    /// until the memory budget needs the room. The token can stop the load; once the alias is about to move, the
    /// move and its broadcast finish whatever the caller does, so no silo is left behind a durable change.
    /// </summary>
    private async Task<DeploymentOutcome> MoveAsync(ModelPackage? target, DeploymentReason reason, CancellationToken cancellationToken)
    {
        if (target is not null)
        {
            var warm = await router.WarmAsync(target.Artifact.Sha256, cancellationToken);
            if (!warm.Loaded)
            {
                LogNotDeployed(_group, target.Version, warm.Error!);
                await store.RecordFailureAsync(_group, target.Id, (int)target.Version, target.Artifact.Sha256, reason, warm.Error!, CancellationToken.None);
                return new DeploymentOutcome(false, false, false,
                    $"Version {target.Version} of '{_group}' was not deployed: {warm.Error}", _current);
            }
        }
        var previous = _current;
        _current = await store.MoveAsync(
            _group, target is null ? null : (target.Id, (int)target.Version, target.Artifact.Sha256), reason, CancellationToken.None);
        await BroadcastAsync(_current);
        LogMoved(_group, previous?.Version, _current?.Version, reason);
        return new DeploymentOutcome(_current is not null, true, false,
            _current is null
                ? $"Group '{_group}' is undeployed: it has no approved version left."
                : $"Group '{_group}' serves version {_current.Version} ({reason}).",
            _current);
    }

    private async Task BroadcastAsync(Deployment? deployment)
    {
        var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        await Task.WhenAll(hosts.Keys.Select(async silo =>
        {
            try
            {
                await grains.GetGrain<ISiloAgentGrain>(silo.ToParsableString()).ApplyAliasAsync(_group, deployment);
            }
            catch (Exception e) when (e is OrleansException or TimeoutException or InvalidOperationException)
            {
                // A silo joining or leaving right now; the move is durable, and its periodic re-read picks it up.
                LogPushFailed(_group, silo.ToString(), e);
            }
        }));
    }

    private DeploymentOutcome Unchanged(string message) => new(_current is not null, false, false, message, _current);

    [LoggerMessage(Level = LogLevel.Information, Message = "Group {Group}: version {From} -> {To} ({Reason})")]
    private partial void LogMoved(string group, int? from, int? to, DeploymentReason reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Group {Group}: the alias change did not reach silo {Silo}; it will read it at its next refresh")]
    private partial void LogPushFailed(string group, string silo, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Group {Group}: version {Version} was not deployed because its model cannot load: {Reason}")]
    private partial void LogNotDeployed(string group, long version, string reason);
}
