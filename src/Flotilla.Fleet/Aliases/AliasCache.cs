namespace Flotilla.Fleet.Aliases;

/// <summary>
/// This process's copy of the alias map, read on every invocation without a grain call or a lock. The
/// deployment grain pushes each change to every silo (<see cref="Hosting.ISiloAgentGrain"/>); a periodic
/// re-read of the metadata store catches anything a silo missed while it was joining.
/// </summary>
public sealed class AliasCache(AliasStore store)
{
    private readonly Lock _lock = new();
    private Dictionary<string, Deployment> _map = new(StringComparer.Ordinal);
    private long _pushes;

    public bool TryGet(string group, out Deployment deployment) => Volatile.Read(ref _map).TryGetValue(group, out deployment!);

    public IReadOnlyCollection<Deployment> All => Volatile.Read(ref _map).Values;

    /// <summary>Applies one change; copy-on-write keeps readers lock-free and every swap atomic.</summary>
    public void Apply(string group, Deployment? deployment)
    {
        lock (_lock)
        {
            var next = new Dictionary<string, Deployment>(_map, StringComparer.Ordinal);
            if (deployment is null)
            {
                next.Remove(group);
            }
            else
            {
                next[group] = deployment;
            }
            _pushes++;
            Volatile.Write(ref _map, next);
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
                Volatile.Write(ref _map, stored.ToDictionary(d => d.Group, StringComparer.Ordinal));
            }
        }
    }
}
