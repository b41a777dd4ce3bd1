namespace Flotilla.Fleet.Aliases;

/// <summary>
/// Picks the route of one call for a split alias. Without a sticky key it runs a smooth weighted round robin,
/// so every window of <c>total weight</c> consecutive calls in this process holds exactly each route's weight
/// (90/10 is 9 of every 10, interleaved, not 90 in a row). With a key it hashes the key with a fixed seed onto
/// the weights, so the same key lands on the same version on every server and after a restart.
/// </summary>
public sealed class RoutePicker
{
    // Fixed, so a sticky key maps to the same route in every process of the fleet.
    private const ulong StickySeed = 0x466c_6f74_696c_6c61;

    private readonly Lock _lock = new();
    private readonly Route[] _routes;
    private readonly long[] _credit;
    private readonly int _total;

    public RoutePicker(TrafficPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        _routes = [.. policy.Routes];
        _credit = new long[_routes.Length];
        _total = _routes.Sum(r => r.Weight);
        StickyHeader = policy.StickyHeader;
    }

    /// <summary>The header whose value keeps a caller on one version, or null.</summary>
    public string? StickyHeader { get; }

    /// <summary>The route for a call: by <paramref name="stickyKey"/> when it is non-empty, else the next of the round robin.</summary>
    public Route Pick(string? stickyKey) => string.IsNullOrEmpty(stickyKey) ? Next() : ForKey(stickyKey);

    private Route Next()
    {
        lock (_lock)
        {
            var best = 0;
            for (var i = 0; i < _routes.Length; i++)
            {
                _credit[i] += _routes[i].Weight;
                if (_credit[i] > _credit[best])
                {
                    best = i;
                }
            }
            _credit[best] -= _total;
            return _routes[best];
        }
    }

    private Route ForKey(string key)
    {
        // FNV-1a over the UTF-16 code units, then the splitmix64 finalizer so nearby keys spread over the weights.
        var hash = 14695981039346656037UL ^ StickySeed;
        foreach (var c in key)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }
        hash ^= hash >> 30;
        hash *= 0xbf58476d1ce4e5b9UL;
        hash ^= hash >> 27;
        hash *= 0x94d049bb133111ebUL;
        hash ^= hash >> 31;
        var slot = (long)(hash % (ulong)_total);
        foreach (var route in _routes)
        {
            slot -= route.Weight;
            if (slot < 0)
            {
                return route;
            }
        }
        return _routes[^1];
    }
}
