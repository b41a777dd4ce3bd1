using System.Collections.Concurrent;
using System.Diagnostics;

namespace Flotilla.Fleet.Observability;

/// <summary>
/// Counters of one silo, per model: hits, misses, loads, evictions, load time and an invocation latency
/// histogram. Plain interlocked counters: the hot path pays a few increments, readers take snapshots.
/// </summary>
public sealed class FleetMetrics
{
    /// <summary>Upper bounds of the latency buckets, in seconds (Prometheus convention); the last bucket is +Inf.</summary>
    public static readonly double[] LatencyBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

    private readonly ConcurrentDictionary<string, ModelCounters> _models = new(StringComparer.Ordinal);

    public ModelCounters For(string artifactSha256) =>
        _models.TryGetValue(artifactSha256, out var counters) ? counters : _models.GetOrAdd(artifactSha256, static _ => new ModelCounters());

    public IReadOnlyList<ModelStats> Snapshot() =>
        [.. _models.Select(pair => pair.Value.Snapshot(pair.Key)).OrderBy(m => m.ArtifactSha256, StringComparer.Ordinal)];

    public sealed class ModelCounters
    {
        private readonly long[] _buckets = new long[LatencyBuckets.Length + 1];
        private readonly LatencyHistogram _fine = new();
        private long _hits;
        private long _misses;
        private long _loads;
        private long _loadFailures;
        private long _evictions;
        private long _loadTicks;
        private long _lastLoadTicks;
        private long _latencyCount;
        private long _latencyTicks;
        private long _failures;

        public void Hit() => Interlocked.Increment(ref _hits);

        public void Miss() => Interlocked.Increment(ref _misses);

        public void Evicted() => Interlocked.Increment(ref _evictions);

        public void LoadFailed() => Interlocked.Increment(ref _loadFailures);

        /// <summary>An invocation the model could not answer (a 5xx); a caller's bad rows are not counted.</summary>
        public void Failed() => Interlocked.Increment(ref _failures);

        public void Loaded(long elapsedTicks)
        {
            Interlocked.Increment(ref _loads);
            Interlocked.Add(ref _loadTicks, elapsedTicks);
            Volatile.Write(ref _lastLoadTicks, elapsedTicks);
        }

        /// <summary>Records one invocation's latency, measured with <see cref="Stopwatch.GetTimestamp"/>.</summary>
        public void Served(long elapsedTicks)
        {
            var seconds = elapsedTicks / (double)Stopwatch.Frequency;
            var bucket = 0;
            while (bucket < LatencyBuckets.Length && seconds > LatencyBuckets[bucket])
            {
                bucket++;
            }
            Interlocked.Increment(ref _buckets[bucket]);
            Interlocked.Increment(ref _latencyCount);
            Interlocked.Add(ref _latencyTicks, elapsedTicks);
            _fine.Record(elapsedTicks);
        }

        public ModelStats Snapshot(string artifactSha256)
        {
            var buckets = new long[_buckets.Length];
            for (var i = 0; i < buckets.Length; i++)
            {
                buckets[i] = Volatile.Read(ref _buckets[i]);
            }
            return new ModelStats(
                artifactSha256,
                Volatile.Read(ref _hits),
                Volatile.Read(ref _misses),
                Volatile.Read(ref _loads),
                Volatile.Read(ref _loadFailures),
                Volatile.Read(ref _evictions),
                ToSeconds(Volatile.Read(ref _loadTicks)),
                ToSeconds(Volatile.Read(ref _lastLoadTicks)),
                Volatile.Read(ref _latencyCount),
                ToSeconds(Volatile.Read(ref _latencyTicks)),
                buckets,
                _fine.Snapshot(),
                Volatile.Read(ref _failures));
        }

        private static double ToSeconds(long ticks) => ticks / (double)Stopwatch.Frequency;
    }
}

/// <summary>One model's counters on one silo (or summed over silos).</summary>
[GenerateSerializer, Immutable]
public sealed record ModelStats(
    [property: Id(0)] string ArtifactSha256,
    [property: Id(1)] long Hits,
    [property: Id(2)] long Misses,
    [property: Id(3)] long Loads,
    [property: Id(4)] long LoadFailures,
    [property: Id(5)] long Evictions,
    [property: Id(6)] double LoadSecondsTotal,
    [property: Id(7)] double LastLoadSeconds,
    [property: Id(8)] long Invocations,
    [property: Id(9)] double LatencySecondsTotal,
    [property: Id(10)] long[] LatencyBucketCounts,
    [property: Id(11)] long[]? FineLatencyCounts = null,
    [property: Id(12)] long Failures = 0)
{
    /// <summary>Latency quantile estimated from the histogram (upper bound of the bucket that holds it).</summary>
    public double LatencyQuantileSeconds(double q)
    {
        if (Invocations == 0)
        {
            return 0;
        }
        var rank = (long)Math.Ceiling(q * Invocations);
        long seen = 0;
        for (var i = 0; i < LatencyBucketCounts.Length; i++)
        {
            seen += LatencyBucketCounts[i];
            if (seen >= rank)
            {
                return i < FleetMetrics.LatencyBuckets.Length ? FleetMetrics.LatencyBuckets[i] : double.PositiveInfinity;
            }
        }
        return double.PositiveInfinity;
    }

    public ModelStats Add(ModelStats other) => this with
    {
        Hits = Hits + other.Hits,
        Misses = Misses + other.Misses,
        Loads = Loads + other.Loads,
        LoadFailures = LoadFailures + other.LoadFailures,
        Evictions = Evictions + other.Evictions,
        LoadSecondsTotal = LoadSecondsTotal + other.LoadSecondsTotal,
        LastLoadSeconds = Math.Max(LastLoadSeconds, other.LastLoadSeconds),
        Invocations = Invocations + other.Invocations,
        LatencySecondsTotal = LatencySecondsTotal + other.LatencySecondsTotal,
        LatencyBucketCounts = [.. LatencyBucketCounts.Zip(other.LatencyBucketCounts, (a, b) => a + b)],
        FineLatencyCounts = LatencyHistogram.Add(FineLatencyCounts, other.FineLatencyCounts),
        Failures = Failures + other.Failures,
    };
}
