namespace Flotilla.Fleet.Aliases;

/// <summary>
/// This process's copy of the alias map, read on every invocation without a grain call or a lock. The
/// deployment grain pushes each change to every silo (<see cref="Hosting.ISiloAgentGrain"/>); a periodic
/// re-read of the metadata store catches anything a silo missed while it was joining.
/// </summary>
public sealed class AliasCache(AliasStore store)
{
    private readonly Lock _lock = new();
    private Snapshot _map = Snapshot.Of(new Dictionary<string, Deployment>(StringComparer.Ordinal));
    private long _pushes;

    public bool TryGet(string group, out Deployment deployment) => Volatile.Read(ref _map).ByGroup.TryGetValue(group, out deployment!);

    /// <summary>
    /// A deployment serving <paramref name="artifactSha256"/> (lower-case), so a call naming an artifact by hash
    /// can still say which version answered.
    /// </summary>
    public bool TryGetByArtifact(string artifactSha256, out Deployment deployment) =>
        Volatile.Read(ref _map).ByArtifact.TryGetValue(artifactSha256, out deployment!);

    public IReadOnlyCollection<Deployment> All => Volatile.Read(ref _map).ByGroup.Values;

    /// <summary>The picker of a group whose calls are split across versions; false for a single-version alias.</summary>
    public bool TryGetRoutes(string group, out RoutePicker picker)
    {
        var map = Volatile.Read(ref _map);
        if (map.Pickers.Count == 0)
        {
            picker = null!;
            return false;
        }
        return map.Pickers.TryGetValue(group, out picker!);
    }

    /// <summary>
    /// The shadow of a group whose calls are copied to a version that does not answer; false (after one count check
    /// when no group has a shadow) otherwise.
    /// </summary>
    public bool TryGetShadow(string group, out ShadowRoute shadow)
    {
        var map = Volatile.Read(ref _map);
        if (map.Shadows.Count == 0)
        {
            shadow = null!;
            return false;
        }
        return map.Shadows.TryGetValue(group, out shadow!);
    }

    /// <summary>Applies one change; copy-on-write keeps readers lock-free and every swap atomic.</summary>
    public void Apply(string group, Deployment? deployment)
    {
        lock (_lock)
        {
            var next = new Dictionary<string, Deployment>(_map.ByGroup, StringComparer.Ordinal);
            if (deployment is null)
            {
                next.Remove(group);
            }
            else
            {
                next[group] = deployment;
            }
            _pushes++;
            Volatile.Write(ref _map, Snapshot.Of(next, _map));
        }
    }

    /// <summary>Replaces the whole map with the stored one, unless a push arrived while it was being read.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        long before;
        lock (_lock)
        {
            before = _pushes;
        }
        var stored = await store.ListAsync(cancellationToken);
        lock (_lock)
        {
            // A push during the read is newer than what was read; the next refresh reconciles the rest.
            if (_pushes == before)
            {
                Volatile.Write(ref _map, Snapshot.Of(stored.ToDictionary(d => d.Group, StringComparer.Ordinal), _map));
            }
        }
    }

    /// <summary>Both lookups swapped as one, so a reader never sees a group without its artifact or the reverse.</summary>
    private sealed record Snapshot(
        Dictionary<string, Deployment> ByGroup, Dictionary<string, Deployment> ByArtifact, Dictionary<string, RoutePicker> Pickers,
        Dictionary<string, ShadowRoute> Shadows)
    {
        public static Snapshot Of(Dictionary<string, Deployment> byGroup, Snapshot? previous = null)
        {
            var byArtifact = new Dictionary<string, Deployment>(StringComparer.Ordinal);
            var pickers = new Dictionary<string, RoutePicker>(StringComparer.Ordinal);
            var shadows = new Dictionary<string, ShadowRoute>(StringComparer.Ordinal);
            foreach (var deployment in byGroup.Values)
            {
                byArtifact.TryAdd(deployment.ArtifactSha256, deployment);
                if (deployment.Policy is { } policy)
                {
                    foreach (var route in policy.Routes)
                    {
                        byArtifact.TryAdd(route.ArtifactSha256, deployment with { PackageId = route.PackageId, Version = route.Version, ArtifactSha256 = route.ArtifactSha256 });
                    }
                    if (policy.Shadow is { } shadow)
                    {
                        shadows[deployment.Group] = shadow;
                    }
                    if (policy.Routes.Count < 2)
                    {
                        // A pin with a shadow: the alias itself names the one version.
                        continue;
                    }
                    // The same revision keeps its picker, so a refresh does not restart the round robin.
                    pickers[deployment.Group] = previous is not null && previous.ByGroup.TryGetValue(deployment.Group, out var before)
                        && before.Revision == deployment.Revision && previous.Pickers.TryGetValue(deployment.Group, out var kept)
                        ? kept
                        : new RoutePicker(policy);
                }
            }
            return new Snapshot(byGroup, byArtifact, pickers, shadows);
        }
    }
}
