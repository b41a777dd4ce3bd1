using System.Diagnostics;
using System.Numerics;

namespace Flotilla.Fleet.Observability;

/// <summary>
/// A log-scale latency histogram: eight buckets per doubling from 1 µs to about 34 s, each at most 12.5 % wide. The
/// Prometheus buckets of <see cref="FleetMetrics"/> are 2–2.5× apart, too coarse to tell whether one version's
/// p99 is 1.5× another's; this one can. Recording is one bucket computation and one interlocked increment.
/// </summary>
public sealed class LatencyHistogram
{
    private const int SubBuckets = 8;
    private const int SubBits = 3;
    private const int FirstExponent = 10; // 2^10 ns ≈ 1 µs
    private const int LastExponent = 35;  // 2^35 ns ≈ 34 s

    public const int BucketCount = (LastExponent - FirstExponent + 1) * SubBuckets;

    private static readonly double NanosecondsPerTick = 1e9 / Stopwatch.Frequency;

    private readonly long[] _counts = new long[BucketCount];

    /// <summary>Records one latency measured with <see cref="Stopwatch.GetTimestamp"/>.</summary>
    public void Record(long elapsedTicks) => Interlocked.Increment(ref _counts[Index(elapsedTicks)]);

    public long[] Snapshot()
    {
        var copy = new long[BucketCount];
        for (var i = 0; i < copy.Length; i++)
        {
            copy[i] = Volatile.Read(ref _counts[i]);
        }
        return copy;
    }

    public static int Index(long elapsedTicks)
    {
        var nanoseconds = (ulong)Math.Max(1, NanosecondsPerTick == 1 ? elapsedTicks : (long)(elapsedTicks * NanosecondsPerTick));
        var exponent = 63 - BitOperations.LeadingZeroCount(nanoseconds);
        if (exponent < FirstExponent)
        {
            return 0;
        }
        if (exponent > LastExponent)
        {
            return BucketCount - 1;
        }
        var sub = (int)(nanoseconds >> (exponent - SubBits)) & (SubBuckets - 1);
        return (exponent - FirstExponent) * SubBuckets + sub;
    }

    /// <summary>The upper bound of bucket <paramref name="index"/>, in seconds.</summary>
    public static double UpperBoundSeconds(int index)
    {
        var exponent = FirstExponent + index / SubBuckets;
        var sub = index % SubBuckets;
        return (SubBuckets + sub + 1) * Math.Pow(2, exponent - SubBits) / 1e9;
    }

    /// <summary>The quantile <paramref name="q"/> of <paramref name="counts"/> (the upper bound of its bucket), 0 when empty.</summary>
    public static double QuantileSeconds(IReadOnlyList<long> counts, double q)
    {
        long total = 0;
        foreach (var c in counts)
        {
            total += c;
        }
        if (total == 0)
        {
            return 0;
        }
        var rank = Math.Max(1, (long)Math.Ceiling(q * total));
        long seen = 0;
        for (var i = 0; i < counts.Count; i++)
        {
            seen += counts[i];
            if (seen >= rank)
            {
                return UpperBoundSeconds(i);
            }
        }
        return UpperBoundSeconds(counts.Count - 1);
    }

    /// <summary><paramref name="after"/> − <paramref name="before"/> bucket by bucket: the calls of a window.</summary>
    public static long[] Subtract(IReadOnlyList<long> after, IReadOnlyList<long>? before)
    {
        var result = new long[after.Count];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = after[i] - (before is not null && i < before.Count ? before[i] : 0);
        }
        return result;
    }

    public static long[] Add(IReadOnlyList<long>? a, IReadOnlyList<long>? b)
    {
        var result = new long[BucketCount];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = (a is not null && i < a.Count ? a[i] : 0) + (b is not null && i < b.Count ? b[i] : 0);
        }
        return result;
    }
}
