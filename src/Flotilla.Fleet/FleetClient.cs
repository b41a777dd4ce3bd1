using Flotilla.Fleet.Aliases;
using Flotilla.Fleet.Deployments;
using Flotilla.Fleet.Hosting;
using Flotilla.Fleet.Models;
using Flotilla.Fleet.Observability;

namespace Flotilla.Fleet;

/// <summary>
/// The fleet as the HTTP front doors and the API see it: resolve a target (group name or artifact hash)
/// from this process's alias cache, invoke the model's grain, read the endpoint's state and history.
/// </summary>
public sealed class FleetClient(
    IGrainFactory grains, AliasCache aliases, AliasStore store, FleetMetrics metrics, LocalModels local, ModelBudget budget, ModelRouter router, IModelScorer scorer)
{
    /// <summary>
    /// The artifact a target names: a deployed group's current artifact, else the target itself when it is a
    /// SHA-256 (lower-cased). False when it is neither; the caller answers 404 naming it.
    /// </summary>
    public bool TryResolve(string target, out string artifactSha256) => TryResolve(target, out artifactSha256, out _);

    /// <summary>
    /// As <see cref="TryResolve(string, out string)"/>, with the registered version that answers: the group's
    /// deployed version, or for a hash the version of a group that serves that artifact (null when none does).
    /// </summary>
    public bool TryResolve(string target, out string artifactSha256, out int? version)
    {
        if (aliases.TryGet(target, out var deployment))
        {
            artifactSha256 = deployment.ArtifactSha256;
            version = deployment.Version;
            return true;
        }
        if (IsSha256(target))
        {
            artifactSha256 = target.ToLowerInvariant();
            version = aliases.TryGetByArtifact(artifactSha256, out var serving) ? serving.Version : null;
            return true;
        }
        artifactSha256 = "";
        version = null;
        return false;
    }

    /// <summary>
    /// Scores with the model this silo holds, directly on this thread (same counters, same recency, no message);
    /// otherwise with one call to the silo <see cref="ModelRouter"/> picks, failing over within the invocation's deadline.
    /// </summary>
    public ValueTask<InvocationResult> InvokeAsync(string artifactSha256, InvocationRequest request)
    {
        if (local.TryGet(artifactSha256, out var held))
        {
            metrics.For(artifactSha256).Hit();
            budget.Touch(held.Entry);
            return ValueTask.FromResult(scorer.Score(artifactSha256, held.Model, request));
        }
        return new ValueTask<InvocationResult>(router.InvokeAsync(artifactSha256, request));
    }

    /// <summary>The silo this process sends <paramref name="artifactSha256"/>'s calls to when it does not hold the model itself.</summary>
    public string HomeOf(string artifactSha256) => router.HomeOf(artifactSha256).ToString();

    /// <summary>The route picker of a group whose calls are split across versions; false for a single-version alias.</summary>
    public bool TryGetRoutes(string group, out RoutePicker picker) => aliases.TryGetRoutes(group, out picker);

    /// <summary>The shadow version that sees copies of <paramref name="group"/>'s calls; false when it has none.</summary>
    public bool TryGetShadow(string group, out ShadowRoute shadow) => aliases.TryGetShadow(group, out shadow);

    /// <summary>Splits <paramref name="group"/>'s calls across approved versions by weight (reason: manual).</summary>
    public Task<DeploymentOutcome> SplitAsync(
        string group, IReadOnlyList<RouteWeight> routes, string? stickyHeader, ShadowWeight? shadow, CancellationToken cancellationToken) =>
        grains.GetGrain<IDeploymentGrain>(group).SplitAsync(routes, stickyHeader, shadow, cancellationToken);

    /// <summary>The deployment serving <paramref name="group"/> in this process's copy of the alias map.</summary>
    public bool TryGetDeployment(string group, out Deployment deployment) => aliases.TryGet(group, out deployment);

    /// <summary>Counters of this process, where the front doors record end-to-end latency per model.</summary>
    public FleetMetrics LocalMetrics => metrics;

    public IReadOnlyCollection<Deployment> Aliases => aliases.All;

    public Task<IReadOnlyList<DeploymentRecord>> HistoryAsync(string group, CancellationToken cancellationToken) =>
        store.HistoryAsync(group, cancellationToken);

    public Task<IReadOnlyList<DeploymentFailure>> FailuresAsync(string group, CancellationToken cancellationToken) =>
        store.FailuresAsync(group, cancellationToken);

    /// <summary>Pins <paramref name="group"/> to one of its approved versions (reason: manual).</summary>
    public Task<DeploymentOutcome> DeployManuallyAsync(string group, int version, CancellationToken cancellationToken) =>
        grains.GetGrain<IDeploymentGrain>(group).PinAsync(version, cancellationToken);

    /// <summary>Every active silo's budget, loaded models and counters; a silo that does not answer is listed with the reason.</summary>
    public async Task<IReadOnlyList<SiloSnapshot>> SilosAsync(CancellationToken cancellationToken)
    {
        var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
        var snapshots = await Task.WhenAll(hosts.Keys.Select(async silo =>
        {
            try
            {
                return await grains.GetGrain<ISiloAgentGrain>(silo.ToParsableString()).GetSnapshotAsync()
                    .WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
            }
            catch (Exception e) when (e is OrleansException or TimeoutException or InvalidOperationException)
            {
                return SiloSnapshot.Unreachable(silo.ToString(), $"{e.GetType().Name}: {e.Message}");
            }
        }));
        return [.. snapshots.OrderBy(s => s.Silo, StringComparer.Ordinal)];
    }

    public static bool IsSha256(string value) => value.Length == 64 && value.AsSpan().ContainsAnyExcept(HexDigits) is false;

    private static readonly System.Buffers.SearchValues<char> HexDigits =
        System.Buffers.SearchValues.Create("0123456789abcdefABCDEF");
}
