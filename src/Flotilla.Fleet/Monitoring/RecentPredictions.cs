namespace Flotilla.Fleet.Monitoring;

/// <summary>
/// The latest predictions of one model on this silo, by request id and row, for joining feedback: a fixed ring
/// of structs written without a lock (a sequence number per slot tells a reader whether it read a whole entry).
/// Finding ids scans the ring once per feedback batch: feedback is rare next to invocations, which pay nothing
/// but the write.
/// </summary>
public sealed class RecentPredictions(int capacity)
{
    private readonly Entry[] _ring = new Entry[capacity];
    private long _next;

    public void Add(string requestId, int row, int version, double positive, bool predictedPositive, long timeMs)
    {
        var sequence = Interlocked.Increment(ref _next);
        ref var entry = ref _ring[(int)((sequence - 1) % _ring.Length)];
        Volatile.Write(ref entry.Sequence, 0);
        entry.RequestId = requestId;
        entry.Row = row;
        entry.Version = version;
        entry.Positive = positive;
        entry.PredictedPositive = predictedPositive;
        entry.TimeMs = timeMs;
        entry.Labelled = 0;
        Volatile.Write(ref entry.Sequence, sequence);
    }

    /// <summary>
    /// Marks the predictions named in <paramref name="wanted"/> (request id and row → true label is positive) as
    /// labelled and returns them; each prediction is labelled once, so feedback sent twice counts once.
    /// </summary>
    public List<(Key Key, LabelledOutcome Outcome)> Label(IReadOnlyDictionary<Key, bool> wanted)
    {
        var found = new List<(Key, LabelledOutcome)>();
        for (var i = 0; i < _ring.Length && found.Count < wanted.Count; i++)
        {
            ref var entry = ref _ring[i];
            var before = Volatile.Read(ref entry.Sequence);
            if (before == 0 || entry.RequestId is not { } id)
            {
                continue;
            }
            var key = new Key(id, entry.Row);
            var outcome = new LabelledOutcome(entry.Version, entry.Positive, entry.PredictedPositive, false, entry.TimeMs);
            if (Volatile.Read(ref entry.Sequence) != before || !wanted.TryGetValue(key, out var actual))
            {
                continue;
            }
            if (Interlocked.CompareExchange(ref entry.Labelled, 1, 0) == 0)
            {
                found.Add((key, outcome with { ActualPositive = actual }));
            }
        }
        return found;
    }

    public readonly record struct Key(string RequestId, int Row);

    private struct Entry
    {
        public long Sequence;
        public string? RequestId;
        public int Row;
        public int Version;
        public double Positive;
        public bool PredictedPositive;
        public int Labelled;
        public long TimeMs;
    }
}

/// <summary>A prediction with its true label: the version that made it, P(positive), its label, the truth, and when it was made.</summary>
[GenerateSerializer, Immutable]
public sealed record LabelledOutcome(
    [property: Id(0)] int Version,
    [property: Id(1)] double Positive,
    [property: Id(2)] bool PredictedPositive,
    [property: Id(3)] bool ActualPositive,
    [property: Id(4)] long TimeMs);

/// <summary>The latest labelled predictions of one model on this silo, oldest overwritten.</summary>
public sealed class LabelledOutcomes(int capacity)
{
    private readonly LabelledOutcome?[] _ring = new LabelledOutcome?[capacity];
    private long _next;

    public void Add(LabelledOutcome outcome) =>
        Volatile.Write(ref _ring[(int)((Interlocked.Increment(ref _next) - 1) % _ring.Length)], outcome);

    public List<LabelledOutcome> Since(long timeMs)
    {
        var list = new List<LabelledOutcome>();
        foreach (var o in _ring)
        {
            if (o is not null && o.TimeMs >= timeMs)
            {
                list.Add(o);
            }
        }
        return list;
    }
}
