using Flotilla.Fleet.Observability;

namespace Flotilla.Fleet.Rollout;

/// <summary>
/// One shadow version's comparison with the answers its group gave, in this process: how many copies were taken,
/// dropped (queue full), scored and failed; how many rows agreed on the label; the absolute probability
/// differences; and the shadow's own latency. The shadow worker is the only writer of most counters.
/// </summary>
public sealed class ShadowStats
{
    /// <summary>Upper bounds of the |probability difference| buckets; the last bucket is everything above.</summary>
    public static readonly double[] DifferenceBuckets = [0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5];

    private const double DifferenceScale = 1e9;

    private readonly long[] _differences = new long[DifferenceBuckets.Length + 1];
    private readonly LatencyHistogram _latency = new();
    private long _seen;
    private long _taken;
    private long _dropped;
    private long _scored;
    private long _failed;
    private long _rows;
    private long _agreed;
    private long _differenceSum;
    private int _primaryVersion;

    /// <summary>
    /// Whether the next call is copied, so exactly <paramref name="percent"/> of every 100 consecutive calls are
    /// (the n-th call is taken when ⌊n·p/100⌋ moves).
    /// </summary>
    internal bool Sample(int percent)
    {
        if (percent >= 100)
        {
            return true;
        }
        var n = Interlocked.Increment(ref _seen);
        return n * percent / 100 != (n - 1) * percent / 100;
    }

    internal void Taken() => Interlocked.Increment(ref _taken);

    internal void Dropped() => Interlocked.Increment(ref _dropped);

    internal void Failed(long elapsedTicks)
    {
        Interlocked.Increment(ref _failed);
        _latency.Record(elapsedTicks);
    }

    internal void Scored(long elapsedTicks, int? primaryVersion, int rows, int agreed, ReadOnlySpan<double> differences)
    {
        Interlocked.Increment(ref _scored);
        _latency.Record(elapsedTicks);
        if (primaryVersion is { } version)
        {
            Volatile.Write(ref _primaryVersion, version);
        }
        Interlocked.Add(ref _rows, rows);
        Interlocked.Add(ref _agreed, agreed);
        foreach (var difference in differences)
        {
            var bucket = 0;
            while (bucket < DifferenceBuckets.Length && difference > DifferenceBuckets[bucket])
            {
                bucket++;
            }
            Interlocked.Increment(ref _differences[bucket]);
            Interlocked.Add(ref _differenceSum, (long)(difference * DifferenceScale));
        }
    }

    public ShadowStatsSnapshot Snapshot(string group, int version)
    {
        var differences = new long[_differences.Length];
        for (var i = 0; i < differences.Length; i++)
        {
            differences[i] = Volatile.Read(ref _differences[i]);
        }
        return new ShadowStatsSnapshot(group, version, Volatile.Read(ref _primaryVersion) is var p && p > 0 ? p : null,
            Volatile.Read(ref _taken), Volatile.Read(ref _dropped), Volatile.Read(ref _scored), Volatile.Read(ref _failed),
            Volatile.Read(ref _rows), Volatile.Read(ref _agreed), Volatile.Read(ref _differenceSum) / DifferenceScale,
            differences, _latency.Snapshot());
    }
}

/// <summary>A shadow version's counters on one silo (or summed over silos with <see cref="Add"/>).</summary>
[GenerateSerializer, Immutable]
public sealed record ShadowStatsSnapshot(
    [property: Id(0)] string Group,
    [property: Id(1)] int Version,
    [property: Id(2)] int? PrimaryVersion,
    [property: Id(3)] long Calls,
    [property: Id(4)] long Dropped,
    [property: Id(5)] long Scored,
    [property: Id(6)] long Failed,
    [property: Id(7)] long Rows,
    [property: Id(8)] long AgreedRows,
    [property: Id(9)] double DifferenceSum,
    [property: Id(10)] long[] DifferenceBucketCounts,
    [property: Id(11)] long[] LatencyCounts)
{
    public double Agreement => Rows == 0 ? 0 : AgreedRows / (double)Rows;

    public double MeanDifference => Rows == 0 ? 0 : DifferenceSum / Rows;

    /// <summary>The |probability difference| quantile: the upper bound of the bucket holding it (1 for the last).</summary>
    public double DifferenceQuantile(double q)
    {
        long total = DifferenceBucketCounts.Sum();
        if (total == 0)
        {
            return 0;
        }
        var rank = Math.Max(1, (long)Math.Ceiling(q * total));
        long seen = 0;
        for (var i = 0; i < DifferenceBucketCounts.Length; i++)
        {
            seen += DifferenceBucketCounts[i];
            if (seen >= rank)
            {
                return i < ShadowStats.DifferenceBuckets.Length ? ShadowStats.DifferenceBuckets[i] : 1;
            }
        }
        return 1;
    }

    public ShadowStatsSnapshot Add(ShadowStatsSnapshot other) => this with
    {
        PrimaryVersion = PrimaryVersion ?? other.PrimaryVersion,
        Calls = Calls + other.Calls,
        Dropped = Dropped + other.Dropped,
        Scored = Scored + other.Scored,
        Failed = Failed + other.Failed,
        Rows = Rows + other.Rows,
        AgreedRows = AgreedRows + other.AgreedRows,
        DifferenceSum = DifferenceSum + other.DifferenceSum,
        DifferenceBucketCounts = [.. DifferenceBucketCounts.Zip(other.DifferenceBucketCounts, (a, b) => a + b)],
        LatencyCounts = LatencyHistogram.Add(LatencyCounts, other.LatencyCounts),
    };
}
