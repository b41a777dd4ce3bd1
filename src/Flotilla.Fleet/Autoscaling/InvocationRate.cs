namespace Flotilla.Fleet.Autoscaling;

/// <summary>
/// Turns the silos' invocation counters (monotonic totals) into a rate per instance by differencing two
/// readings. A silo seen for the first time only sets its baseline; a counter that went down (a restarted
/// silo with the same address) counts from zero.
/// </summary>
public sealed class InvocationRate
{
    private Dictionary<string, long> _previous = new(StringComparer.Ordinal);
    private DateTimeOffset? _previousAt;

    /// <summary>Invocations per second per instance since the previous reading; null on the first reading.</summary>
    public double? Observe(IReadOnlyDictionary<string, long> invocationsBySilo, DateTimeOffset at)
    {
        double? rate = null;
        if (_previousAt is { } previousAt && at > previousAt && invocationsBySilo.Count > 0)
        {
            long delta = 0;
            foreach (var (silo, total) in invocationsBySilo)
            {
                if (_previous.TryGetValue(silo, out var before))
                {
                    delta += total >= before ? total - before : total;
                }
            }
            rate = delta / (at - previousAt).TotalSeconds / invocationsBySilo.Count;
        }
        _previous = new Dictionary<string, long>(invocationsBySilo, StringComparer.Ordinal);
        _previousAt = at;
        return rate;
    }
}
