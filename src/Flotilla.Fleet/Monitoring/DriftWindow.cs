using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;

namespace Flotilla.Fleet.Monitoring;

/// <summary>
/// The live distribution of one model's inputs and scores over a sliding window, as counters in the bins of its
/// <see cref="TrainingProfile"/>. Fixed memory: <see cref="MonitoringOptions.WindowBuckets"/> arrays of
/// <see cref="DriftLayout.Slots"/> ints. A scored row costs one bin look-up and one interlocked increment per
/// feature, no lock and no allocation; a bucket whose time is over is cleared by the first row of its next turn
/// (rows racing that clear may be lost: a statistic, not a ledger).
/// </summary>
public sealed class DriftWindow : IRowObserver
{
    private readonly int[][] _buckets;
    private readonly long[] _epochs;
    private readonly long _ticksPerBucket;
    private readonly TimeProvider _time;

    public DriftWindow(TrainingProfile profile, MonitoringOptions options, TimeProvider time)
    {
        Layout = new DriftLayout(profile);
        _time = time;
        _ticksPerBucket = Math.Max(1, (long)(options.Window.TotalSeconds / options.WindowBuckets * time.TimestampFrequency));
        _buckets = [.. Enumerable.Range(0, options.WindowBuckets).Select(_ => new int[Layout.Slots])];
        _epochs = new long[options.WindowBuckets];
        Array.Fill(_epochs, -1);
        // The current bucket starts owned, so the first rows are not raced by its first clear.
        var now = Epoch();
        _epochs[(int)(now % _buckets.Length)] = now;
    }

    public DriftLayout Layout { get; }

    public void Observe(ReadOnlySpan<float> values, double positiveProbability)
    {
        var bucket = Current();
        var layout = Layout;
        for (var f = 0; f < layout.Features.Length; f++)
        {
            Interlocked.Increment(ref bucket[layout.SlotOf(f, values[f])]);
            if (layout.Features[f].IsCategorical && values[f] < 0)
            {
                Interlocked.Increment(ref bucket[layout.Features[f].Unseen]);
            }
        }
        Interlocked.Increment(ref bucket[layout.ScoreOffset + TrainingProfile.ScoreSlot(positiveProbability)]);
        Interlocked.Increment(ref bucket[layout.RowsSlot]);
    }

    /// <summary>The counters of every bucket still inside the window, summed.</summary>
    public int[] Counts()
    {
        var now = Epoch();
        var sum = new int[Layout.Slots];
        for (var b = 0; b < _buckets.Length; b++)
        {
            var epoch = Volatile.Read(ref _epochs[b]);
            if (epoch < 0 || now - epoch >= _buckets.Length)
            {
                continue;
            }
            var bucket = _buckets[b];
            for (var s = 0; s < sum.Length; s++)
            {
                sum[s] += Volatile.Read(ref bucket[s]);
            }
        }
        return sum;
    }

    private long Epoch() => _time.GetTimestamp() / _ticksPerBucket;

    private int[] Current()
    {
        var epoch = Epoch();
        var index = (int)(epoch % _buckets.Length);
        var seen = Volatile.Read(ref _epochs[index]);
        if (seen != epoch && seen < epoch && Interlocked.CompareExchange(ref _epochs[index], epoch, seen) == seen)
        {
            Array.Clear(_buckets[index]);
        }
        return _buckets[index];
    }
}

/// <summary>
/// Where each bin of a profile sits in a window's counter array: per feature its value bins, then missing (and for
/// text, a counter of categories the model never saw); then the ten score bins; then the row count. Every silo
/// builds the same layout from the same profile, so counters from several silos add up slot by slot.
/// </summary>
public sealed class DriftLayout
{
    public DriftLayout(TrainingProfile profile)
    {
        Profile = profile;
        var features = new FeatureSlots[profile.Features.Count];
        var offset = 0;
        for (var f = 0; f < features.Length; f++)
        {
            var p = profile.Features[f];
            var categorical = p.Kind == ColumnKind.Categorical;
            features[f] = new FeatureSlots(offset, p.Bins, categorical, [.. p.Edges]);
            offset += p.Bins + 1 + (categorical ? 1 : 0);
        }
        Features = features;
        ScoreOffset = offset;
        RowsSlot = offset + TrainingProfile.ScoreBins;
        Slots = RowsSlot + 1;
    }

    public TrainingProfile Profile { get; }

    public FeatureSlots[] Features { get; }

    public int ScoreOffset { get; }

    public int RowsSlot { get; }

    public int Slots { get; }

    /// <summary>The counter a value of feature <paramref name="f"/> goes to (NaN = missing).</summary>
    public int SlotOf(int f, float value)
    {
        var slots = Features[f];
        if (float.IsNaN(value))
        {
            return slots.Missing;
        }
        if (slots.IsCategorical)
        {
            return slots.Offset + (value >= 0 && value < slots.Bins - 1 ? (int)value : slots.Bins - 1);
        }
        return slots.Offset + FeatureProfile.NumericSlot(slots.Edges, value);
    }

    public sealed record FeatureSlots(int Offset, int Bins, bool IsCategorical, double[] Edges)
    {
        public int Missing => Offset + Bins;

        public int Unseen => Offset + Bins + 1;
    }
}
