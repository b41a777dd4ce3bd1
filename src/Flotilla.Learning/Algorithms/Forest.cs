using System.Numerics;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;

namespace Flotilla.Learning.Algorithms;

/// <summary>
/// One input column as the forest sees it, located in the encoded row. Numeric: one slot, ordered bins with the
/// threshold between each pair of neighbours, and a last bin of its own for NaN when the training rows have
/// any (when they have none, a NaN met later goes where the training mean <see cref="Imputation"/> goes).
/// Categorical: its one-hot slots read back as one category index per row (bin = slot, and a last bin for
/// "no slot set": a missing category or one outside the vocabulary), so a split can send any set of categories left.
/// </summary>
internal sealed record ForestFeature(int Slot, int Slots, bool Categorical, float[] Thresholds, bool HasMissing, float Imputation)
{
    public int BinCount => Categorical ? Slots + 1 : Thresholds.Length + 1 + (HasMissing ? 1 : 0);

    /// <summary>The NaN bin of a numeric feature, or -1.</summary>
    public int MissingBin => !Categorical && HasMissing ? Thresholds.Length + 1 : -1;
}

/// <summary>
/// A training set cut into bins for the forest: at most 256 per feature (one per distinct value when there are
/// that few, quantiles otherwise), one feature per input column (a text column's one-hot slots fold back into
/// one categorical feature), stored row-major because every split search reads all candidate features of the
/// same rows. Built once per training set and shared by every tree and every trial on it.
/// </summary>
internal sealed class ForestFeatures
{
    public const int MaxBins = 256;

    private ForestFeatures(ForestFeature[] features, byte[] bins, int rows)
    {
        Features = features;
        Bins = bins;
        Rows = rows;
        Offsets = new int[features.Length + 1];
        for (var j = 0; j < features.Length; j++)
        {
            Offsets[j + 1] = Offsets[j] + features[j].BinCount;
        }
    }

    public ForestFeature[] Features { get; }

    public int Count => Features.Length;

    /// <summary>Bin of row r in feature j at [r × Count + j].</summary>
    public byte[] Bins { get; }

    public int Rows { get; }

    /// <summary>Offsets[j]: feature j's first bin in a histogram of all features; Offsets[^1] bins in all.</summary>
    public int[] Offsets { get; }

    /// <summary>Bins every row of <paramref name="data"/>: numbers with NaN in a bin of their own, a missing or unseen category in the "other" bin.</summary>
    public static ForestFeatures Build(EncodedData data)
    {
        var schema = data.Schema;
        var rows = data.Rows;
        var offsets = schema.Offsets;
        var features = new List<ForestFeature>();
        var sources = new List<int>();
        var numeric = new List<float[]?>();
        for (var f = 0; f < schema.Features.Count; f++)
        {
            var spec = schema.Features[f];
            if (spec.Kind == ColumnKind.Categorical)
            {
                if (spec.Vocabulary.Count > 0)
                {
                    features.Add(new ForestFeature(offsets[f], spec.Vocabulary.Count, true, [], false, 0));
                    sources.Add(f);
                    numeric.Add(null);
                }

                continue;
            }

            var column = new float[rows];
            for (var i = 0; i < rows; i++)
            {
                column[i] = data.View.Value(i, f);
            }

            features.Add(Numeric(column, offsets[f], (float)spec.Imputation));
            sources.Add(f);
            numeric.Add(column);
        }

        var count = features.Count;
        var bins = new byte[rows * count];
        // Row by row, so the row-major bins are written in order (feature by feature, each pass touched every row's line).
        for (var i = 0; i < rows; i++)
        {
            var row = bins.AsSpan(i * count, count);
            for (var j = 0; j < row.Length; j++)
            {
                var feature = features[j];
                row[j] = (byte)(feature.Categorical ? Category(data.View.Value(i, sources[j]), feature.Slots) : NumericBin(feature, numeric[j]![i]));
            }
        }

        return new ForestFeatures([.. features], bins, rows);
    }

    /// <summary>The bin of a category given as its vocabulary index: the index, or the count of slots for a missing or unseen one.</summary>
    public static int Category(float index, int slots) => index >= 0 && index < slots ? (int)index : slots;

    private static int NumericBin(ForestFeature feature, float value)
    {
        if (float.IsNaN(value))
        {
            return feature.MissingBin;
        }

        // The first bin whose threshold is at or above the value (values ≤ Thresholds[b] sit in bins ≤ b): the count of
        // thresholds below it, by a binary search whose steps are selects rather than branches (which a random value
        // mispredicts half the time). With the radix sort below, binning five folds of 640,000 rows took 4.1 CPU s
        // instead of 6.3 (bench/README.md, "Scaling").
        var thresholds = feature.Thresholds;
        int first = 0, length = thresholds.Length;
        while (length > 0)
        {
            var half = length >> 1;
            var below = thresholds[first + half] < value;
            first = below ? first + half + 1 : first;
            length = below ? length - half - 1 : half;
        }

        return first;
    }

    private static ForestFeature Numeric(float[] column, int slot, float imputation)
    {
        var rows = column.Length;
        var present = 0;
        foreach (var v in column)
        {
            present += float.IsNaN(v) ? 0 : 1;
        }

        var hasMissing = present < rows;
        var sorted = new float[present];
        present = 0;
        foreach (var v in column)
        {
            if (!float.IsNaN(v))
            {
                sorted[present++] = v;
            }
        }

        SortValues(sorted);
        if (sorted.Length == 0)
        {
            return new ForestFeature(slot, 1, false, [], hasMissing, imputation);
        }

        // The distinct values matter only while they are few enough to be the bins themselves.
        var valueBins = MaxBins - (hasMissing ? 1 : 0);
        var distinct = new List<float>(valueBins + 1);
        foreach (var v in sorted)
        {
            if (distinct.Count == 0 || distinct[^1] != v)
            {
                distinct.Add(v);
                if (distinct.Count > valueBins)
                {
                    break;
                }
            }
        }

        // Upper edge of every bin: each distinct value when few, else values at evenly spaced quantiles.
        // The NaN bin takes one of the 256 byte values, so a column with missing values gets one value bin less.
        List<float> edges;
        if (distinct.Count <= valueBins)
        {
            edges = distinct;
        }
        else
        {
            edges = [];
            for (var b = 1; b <= valueBins; b++)
            {
                var v = sorted[Math.Min(sorted.Length - 1, (int)((long)b * sorted.Length / valueBins) - 1)];
                if (edges.Count == 0 || edges[^1] != v)
                {
                    edges.Add(v);
                }
            }

            if (edges[^1] != sorted[^1])
            {
                edges[^1] = sorted[^1];
            }
        }

        // The threshold between bin b and b+1 lies halfway between b's largest value and b+1's smallest,
        // as scikit-learn places it.
        var cut = new float[edges.Count - 1];
        for (var b = 0; b < cut.Length; b++)
        {
            var next = NextValue(sorted, edges[b]);
            var middle = (float)((edges[b] + (double)next) / 2);
            cut[b] = middle < next ? middle : edges[b];
        }

        return new ForestFeature(slot, 1, false, cut, hasMissing, imputation);
    }

    /// <summary>
    /// Sorts numbers (no NaN among them) by three passes of a radix sort on their bits, each made an unsigned key that
    /// orders as the number does: linear where a comparison sort is not, and it runs once per numeric column of every
    /// fold. −0 sorts before +0; they compare equal, so they stay one distinct value.
    /// </summary>
    private static void SortValues(float[] values)
    {
        if (values.Length < 4096)
        {
            Array.Sort(values);
            return;
        }

        var keys = new uint[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            var bits = BitConverter.SingleToUInt32Bits(values[i]);
            keys[i] = (bits & 0x8000_0000) != 0 ? ~bits : bits | 0x8000_0000;
        }

        var scratch = new uint[keys.Length];
        Span<int> counts = stackalloc int[1 << 11];
        for (var shift = 0; shift < 32; shift += 11)
        {
            counts.Clear();
            foreach (var key in keys)
            {
                counts[(int)((key >> shift) & 0x7FF)]++;
            }

            var total = 0;
            for (var d = 0; d < counts.Length; d++)
            {
                (counts[d], total) = (total, total + counts[d]);
            }

            foreach (var key in keys)
            {
                scratch[counts[(int)((key >> shift) & 0x7FF)]++] = key;
            }

            (keys, scratch) = (scratch, keys);
        }

        for (var i = 0; i < values.Length; i++)
        {
            var key = keys[i];
            values[i] = BitConverter.UInt32BitsToSingle((key & 0x8000_0000) != 0 ? key & 0x7FFF_FFFF : ~key);
        }
    }

    private static float NextValue(float[] sorted, float value)
    {
        var index = Array.BinarySearch(sorted, value);
        index = index < 0 ? ~index : index;
        while (index < sorted.Length && sorted[index] <= value)
        {
            index++;
        }

        return index < sorted.Length ? sorted[index] : value;
    }
}

/// <summary>
/// Per-bin sums over a node's rows — class-weighted total, weighted positives, bootstrap count — three doubles
/// a bin at [3 × bin], over the bins of one feature or of all (<see cref="ForestFeatures.Offsets"/>).
/// </summary>
internal static class ForestHistogram
{
    public const int Stride = 3;

    /// <summary>Adds rows sample[start..end) to the histogram of every feature (h is cleared first).</summary>
    public static void BuildAll(ForestFeatures features, int[] sample, int start, int end, double[] weights, double[] positives, int[] counts, Span<double> h)
    {
        h.Clear();
        var count = features.Count;
        var bins = features.Bins;
        var offsets = features.Offsets;
        for (var i = start; i < end; i++)
        {
            var r = sample[i];
            var w = weights[r];
            var p = positives[r];
            var c = counts[r];
            var row = bins.AsSpan(r * count, count);
            for (var j = 0; j < row.Length; j++)
            {
                var b = (offsets[j] + row[j]) * Stride;
                h[b] += w;
                h[b + 1] += p;
                h[b + 2] += c;
            }
        }
    }

    /// <summary>
    /// Adds rows sample[start..end) to the histogram of feature j, which must be all zeros, and writes the bins it
    /// touched to <paramref name="touched"/> in ascending order; returns their count.
    /// </summary>
    public static int BuildTouched(ForestFeatures features, int j, int[] sample, int start, int end, double[] weights, double[] positives, int[] counts, Span<double> h, int[] touched)
    {
        var count = features.Count;
        var bins = features.Bins;
        // One bit per bin: reading the set bits in order lists the touched bins sorted, for less than sorting them.
        Span<ulong> seen = stackalloc ulong[ForestFeatures.MaxBins / 64];
        for (var i = start; i < end; i++)
        {
            var r = sample[i];
            var bin = bins[r * count + j];
            seen[bin >> 6] |= 1UL << bin;
            var b = bin * Stride;
            h[b] += weights[r];
            h[b + 1] += positives[r];
            h[b + 2] += counts[r];
        }

        return SetBins(seen, touched);
    }

    /// <summary>Writes the bins whose bits are set in <paramref name="seen"/> to <paramref name="bins"/>, ascending; returns their count.</summary>
    public static int SetBins(ReadOnlySpan<ulong> seen, Span<int> bins)
    {
        var present = 0;
        for (var word = 0; word < seen.Length; word++)
        {
            for (var bits = seen[word]; bits != 0; bits &= bits - 1)
            {
                bins[present++] = (word << 6) | BitOperations.TrailingZeroCount(bits);
            }
        }

        return present;
    }

    /// <summary>The histogram of feature j alone over rows sample[start..end) (h is cleared first).</summary>
    public static void BuildOne(ForestFeatures features, int j, int[] sample, int start, int end, double[] weights, double[] positives, int[] counts, Span<double> h)
    {
        h.Clear();
        var count = features.Count;
        var bins = features.Bins;
        for (var i = start; i < end; i++)
        {
            var r = sample[i];
            var b = bins[r * count + j] * Stride;
            h[b] += weights[r];
            h[b + 1] += positives[r];
            h[b + 2] += counts[r];
        }
    }
}

/// <summary>
/// Random forest grown as scikit-learn grows it: bootstrap samples, CART trees with gini or entropy,
/// max_depth, min_samples_split, min_samples_leaf, max_features candidates per split, class weights.
/// Each leaf holds the weighted fraction of positives; the forest's probability is their mean.
/// Splits are searched over the shared <see cref="ForestFeatures"/> histograms. Three things make it fast
/// where one-hot CART is slow: a text column is one feature whose categories are ordered by their positive
/// rate at the node and split at the best prefix (with two classes that finds the best of all partitions,
/// Breiman's result, which is also LightGBM's rule); when every node evaluates most features, a child's
/// histogram is the parent's minus its sibling's, so only the smaller child's rows are read (down to children of a
/// few hundred rows, which read their own rows feature by feature); NaN has a bin of its own and each split learns
/// which way it goes.
/// </summary>
internal sealed class ForestBuilder(
    EncodedData data, int trees, bool entropy, int maxDepth, int minSamplesSplit, int minSamplesLeaf, int maxFeatures,
    float[]? classWeights, bool? subtract = null, bool sparseSmallNodes = true) : IHistogramRows<double>
{
    private readonly ChunkedList<TreeEnsemblePredictor.Node> _nodes = new();
    private readonly List<CategorySplit> _categorySplits = [];
    private readonly ChunkedList<double> _leaves = new();

    private ForestFeatures _binned = null!;
    private int[] _sample = [];
    private int[] _counts = [];
    private double[] _weights = [];
    private double[] _positives = [];
    private int[] _candidates = [];
    private bool[] _goesLeft = [];
    private double[] _scratch = [];
    private int[] _present = [];
    private (double Rate, int Bin)[] _order = [];
    private int[] _bestCategories = [];
    private Random _random = null!;

    // A child with fewer rows than twice a feature's mean bin count grows without histograms of every feature: the
    // subtraction and the scan of every bin cost more there than reading its few rows feature by feature, and a
    // forest of deep trees is mostly such nodes (bench/README.md, "Forest": 200 trees of depth 20 with every feature
    // per split on 6,400 rows, 1.3× faster with this and the inlined criterion; the trees are the same).
    private int _histogramRows;

    // The children's histograms, by depth (subtraction mode only).
    private readonly ChildHistograms<double> _histograms = new();

    private readonly record struct Stats(double Total, double Positive, double Samples);

    private struct Best
    {
        public double Gain;
        public int Feature;
        public int Bin;
        public bool MissingLeft;
        public Stats Left;
    }

    public TreeEnsemblePredictor Build(int seed, CancellationToken ct)
    {
        _binned = data.Forest;
        var rows = data.Rows;
        _random = new Random(seed);
        var roots = new int[trees];
        _weights = new double[rows];
        _positives = new double[rows];
        _counts = new int[rows];
        _sample = new int[rows];
        _candidates = Enumerable.Range(0, _binned.Count).ToArray();
        _goesLeft = new bool[ForestFeatures.MaxBins];
        _scratch = new double[ForestFeatures.MaxBins * ForestHistogram.Stride];
        _present = new int[ForestFeatures.MaxBins];
        _order = new (double, int)[ForestFeatures.MaxBins];
        _bestCategories = new int[ForestFeatures.MaxBins];
        _histogramRows = 2 * _binned.Offsets[^1] / Math.Max(_binned.Count, 1);
        // Subtraction needs every feature's histogram at every node; it pays when a node evaluates at least half.
        var root = (subtract ?? 2 * Math.Min(maxFeatures, _binned.Count) >= _binned.Count) ? new double[_binned.Offsets[^1] * ForestHistogram.Stride] : null;
        for (var t = 0; t < trees; t++)
        {
            ct.ThrowIfCancellationRequested();
            Array.Clear(_counts);
            for (var i = 0; i < rows; i++)
            {
                _counts[_random.Next(rows)]++;
            }

            var size = 0;
            double total = 0, positive = 0;
            for (var r = 0; r < rows; r++)
            {
                if (_counts[r] > 0)
                {
                    _sample[size++] = r;
                    _weights[r] = _counts[r] * (classWeights is null ? 1 : classWeights[data.Y[r] ? 1 : 0]);
                    _positives[r] = data.Y[r] ? _weights[r] : 0;
                    total += _weights[r];
                    positive += _positives[r];
                }
            }

            var stats = new Stats(total, positive, rows);
            var histogram = root is not null && !IsLeaf(stats, 0) && size >= _histogramRows ? root : null;
            if (histogram is not null)
            {
                ForestHistogram.BuildAll(_binned, _sample, 0, size, _weights, _positives, _counts, histogram);
            }

            roots[t] = entropy ? Grow<Entropy>(0, size, stats, 0, histogram) : Grow<Gini>(0, size, stats, 0, histogram);
        }

        var treeWeights = Enumerable.Repeat(1.0 / trees, trees).ToArray();
        return new TreeEnsemblePredictor(roots, _nodes.ToArray(), _leaves.ToArray(), treeWeights, TreeOutput.Probability, [.. _categorySplits]);
    }

    private bool IsLeaf(Stats s, int depth) =>
        depth >= maxDepth || s.Samples < minSamplesSplit || s.Samples < 2 * minSamplesLeaf || s.Positive <= 0 || s.Positive >= s.Total;

    /// <summary>
    /// Grows the subtree over sample[start..end) whose sums are <paramref name="stats"/> and, in subtraction
    /// mode, whose histogram of every feature is <paramref name="histogram"/>; returns its node index, or ~leaf.
    /// </summary>
    private int Grow<TCriterion>(int start, int end, Stats stats, int depth, double[]? histogram)
        where TCriterion : struct, ICriterion
    {
        if (IsLeaf(stats, depth))
        {
            return Leaf(stats);
        }

        var parentImpurity = Impurity<TCriterion>(stats.Positive, stats.Total) * stats.Total;
        var best = new Best { Gain = 1e-12, Feature = -1 };
        // Draw max_features candidates without replacement (a partial Fisher–Yates shuffle).
        var count = _binned.Count;
        for (var k = 0; k < Math.Min(maxFeatures, count); k++)
        {
            var pick = k + _random.Next(count - k);
            (_candidates[k], _candidates[pick]) = (_candidates[pick], _candidates[k]);
            var j = _candidates[k];
            var feature = _binned.Features[j];
            var binCount = feature.BinCount;
            if (binCount < 2)
            {
                continue;
            }

            if (histogram is not null)
            {
                Search<TCriterion>(histogram.AsSpan(_binned.Offsets[j] * ForestHistogram.Stride, binCount * ForestHistogram.Stride), AllBins.AsSpan(0, binCount), j, stats, parentImpurity, ref best);
                continue;
            }

            // The scratch histogram is all zeros between uses. A node with fewer rows than half the feature's bins
            // touches few of them: only those are filled, searched (in bin order) and zeroed again, rather than
            // clearing and scanning all 256 — the deep levels of a tree are made of such nodes.
            var h = _scratch.AsSpan(0, binCount * ForestHistogram.Stride);
            if (sparseSmallNodes && 2 * (end - start) < binCount)
            {
                var present = _present.AsSpan(0, ForestHistogram.BuildTouched(_binned, j, _sample, start, end, _weights, _positives, _counts, h, _present));
                Search<TCriterion>(h, present, j, stats, parentImpurity, ref best);
                foreach (var b in present)
                {
                    h.Slice(b * ForestHistogram.Stride, ForestHistogram.Stride).Clear();
                }
            }
            else
            {
                ForestHistogram.BuildOne(_binned, j, _sample, start, end, _weights, _positives, _counts, h);
                Search<TCriterion>(h, AllBins.AsSpan(0, binCount), j, stats, parentImpurity, ref best);
                h.Clear();
            }
        }

        if (best.Feature < 0)
        {
            return Leaf(stats);
        }

        var middle = Partition(start, end, best);
        var split = _binned.Features[best.Feature];
        int node;
        if (split.Categorical)
        {
            ulong mask = 0;
            for (var b = 0; b < split.Slots; b++)
            {
                mask |= _goesLeft[b] ? 1UL << b : 0;
            }

            node = _nodes.Add(new TreeEnsemblePredictor.Node(split.Slot, 0, 0, 0, _categorySplits.Count));
            _categorySplits.Add(new CategorySplit(split.Slots, mask, _goesLeft[split.Slots]));
        }
        else
        {
            var threshold = best.Bin < split.Thresholds.Length ? split.Thresholds[best.Bin] : float.PositiveInfinity;
            // A NaN the training rows never had here goes where their mean goes, as imputing it would send it.
            var nanLeft = split.HasMissing ? best.MissingLeft : split.Imputation <= threshold;
            node = _nodes.Add(new TreeEnsemblePredictor.Node(split.Slot, threshold, 0, 0, nanLeft ? TreeEnsemblePredictor.NaNLeft : TreeEnsemblePredictor.NaNRight));
        }

        var left = best.Left;
        var right = new Stats(stats.Total - left.Total, stats.Positive - left.Positive, stats.Samples - left.Samples);
        var (leftHistogram, rightHistogram) = histogram is null ? (null, null) : ChildHistograms(histogram, start, middle, end, depth, left, right);
        var leftChild = Grow<TCriterion>(start, middle, left, depth + 1, leftHistogram);
        var rightChild = Grow<TCriterion>(middle, end, right, depth + 1, rightHistogram);
        _nodes[node] = _nodes[node] with { Left = leftChild, Right = rightChild };
        return node;
    }

    // The histograms of the children that will split.
    private (double[]? Left, double[]? Right) ChildHistograms(double[] parent, int start, int middle, int end, int depth, Stats left, Stats right) =>
        _histograms.For(
            this, parent, start, middle, end, depth, needLeft: !IsLeaf(left, depth + 1) && middle - start >= _histogramRows,
            needRight: !IsLeaf(right, depth + 1) && end - middle >= _histogramRows, _binned.Count, _binned.Offsets[^1]);

    void IHistogramRows<double>.Read(int depth, int start, int end, double[] histogram) =>
        ForestHistogram.BuildAll(_binned, _sample, start, end, _weights, _positives, _counts, histogram);

    void IHistogramRows<double>.Subtract(double[] parent, double[] small, double[] large) =>
        System.Numerics.Tensors.TensorPrimitives.Subtract(parent, small, large);

    private static readonly int[] AllBins = [.. Enumerable.Range(0, ForestFeatures.MaxBins)];

    /// <summary>The best split of feature j over its histogram <paramref name="h"/>, visiting <paramref name="bins"/> (ascending; every bin with rows among them).</summary>
    private void Search<TCriterion>(ReadOnlySpan<double> h, ReadOnlySpan<int> bins, int j, Stats stats, double parentImpurity, ref Best best)
        where TCriterion : struct, ICriterion
    {
        var feature = _binned.Features[j];
        if (feature.Categorical)
        {
            SearchCategorical<TCriterion>(h, bins, j, stats, parentImpurity, ref best);
        }
        else
        {
            SearchNumeric<TCriterion>(h, bins, feature, j, stats, parentImpurity, ref best);
        }
    }

    // Thresholds between neighbouring value bins; NaN rows (when the node has any) tried on either side, and
    // alone on the right ("every value left"). Bins without rows add nothing and are skipped, so visiting only the
    // bins with rows finds the same split.
    private void SearchNumeric<TCriterion>(ReadOnlySpan<double> h, ReadOnlySpan<int> bins, ForestFeature feature, int j, Stats stats, double parentImpurity, ref Best best)
        where TCriterion : struct, ICriterion
    {
        var valueBins = feature.Thresholds.Length + 1;
        var missing = feature.MissingBin;
        var missingSamples = missing >= 0 ? h[missing * 3 + 2] : 0;
        for (var side = 0; side < (missingSamples > 0 ? 2 : 1); side++)
        {
            var missingLeft = side == 1;
            double leftTotal = 0, leftPositive = 0, leftSamples = 0;
            if (missingLeft)
            {
                (leftTotal, leftPositive, leftSamples) = (h[missing * 3], h[missing * 3 + 1], missingSamples);
            }

            var last = missingSamples > 0 && !missingLeft ? valueBins - 1 : valueBins - 2;
            foreach (var b in bins)
            {
                if (b > last)
                {
                    break;
                }

                leftTotal += h[b * 3];
                leftPositive += h[b * 3 + 1];
                leftSamples += h[b * 3 + 2];
                if (h[b * 3 + 2] == 0 || leftSamples < minSamplesLeaf)
                {
                    continue;
                }

                if (stats.Samples - leftSamples < minSamplesLeaf)
                {
                    break;
                }

                var rightTotal = stats.Total - leftTotal;
                var gain = parentImpurity - Impurity<TCriterion>(leftPositive, leftTotal) * leftTotal - Impurity<TCriterion>(stats.Positive - leftPositive, rightTotal) * rightTotal;
                if (gain > best.Gain)
                {
                    best = new Best { Gain = gain, Feature = j, Bin = b, MissingLeft = missingLeft, Left = new Stats(leftTotal, leftPositive, leftSamples) };
                }
            }
        }
    }

    // The node's categories ordered by their weighted positive rate, split at the best prefix: the prefix goes left.
    private void SearchCategorical<TCriterion>(ReadOnlySpan<double> h, ReadOnlySpan<int> bins, int j, Stats stats, double parentImpurity, ref Best best)
        where TCriterion : struct, ICriterion
    {
        var present = 0;
        foreach (var b in bins)
        {
            if (h[b * 3 + 2] > 0)
            {
                _order[present++] = (h[b * 3 + 1] / h[b * 3], b);
            }
        }

        if (present < 2)
        {
            return;
        }

        var order = _order.AsSpan(0, present);
        order.Sort();
        double leftTotal = 0, leftPositive = 0, leftSamples = 0;
        for (var i = 0; i < present - 1; i++)
        {
            var b = order[i].Bin;
            leftTotal += h[b * 3];
            leftPositive += h[b * 3 + 1];
            leftSamples += h[b * 3 + 2];
            if (leftSamples < minSamplesLeaf)
            {
                continue;
            }

            if (stats.Samples - leftSamples < minSamplesLeaf)
            {
                break;
            }

            var rightTotal = stats.Total - leftTotal;
            var gain = parentImpurity - Impurity<TCriterion>(leftPositive, leftTotal) * leftTotal - Impurity<TCriterion>(stats.Positive - leftPositive, rightTotal) * rightTotal;
            if (gain > best.Gain)
            {
                // Bin holds the prefix length; the prefix's categories are kept for Partition, because the
                // next candidate feature reuses the order.
                best = new Best { Gain = gain, Feature = j, Bin = i + 1, Left = new Stats(leftTotal, leftPositive, leftSamples) };
                for (var k = 0; k <= i; k++)
                {
                    _bestCategories[k] = order[k].Bin;
                }
            }
        }
    }

    /// <summary>Moves the rows going left to the front of sample[start..end); returns where the right part starts.</summary>
    private int Partition(int start, int end, Best best)
    {
        var feature = _binned.Features[best.Feature];
        var goesLeft = _goesLeft.AsSpan(0, feature.BinCount);
        if (feature.Categorical)
        {
            goesLeft.Clear();
            foreach (var b in _bestCategories.AsSpan(0, best.Bin))
            {
                goesLeft[b] = true;
            }
        }
        else
        {
            for (var b = 0; b < goesLeft.Length; b++)
            {
                goesLeft[b] = b <= best.Bin;
            }

            if (feature.MissingBin >= 0)
            {
                goesLeft[feature.MissingBin] = best.MissingLeft;
            }
        }

        var bins = _binned.Bins;
        var count = _binned.Count;
        var j = best.Feature;
        var middle = start;
        for (var i = start; i < end; i++)
        {
            if (goesLeft[bins[_sample[i] * count + j]])
            {
                (_sample[i], _sample[middle]) = (_sample[middle], _sample[i]);
                middle++;
            }
        }

        return middle;
    }

    private int Leaf(Stats stats)
    {
        return ~_leaves.Add(stats.Total > 0 ? stats.Positive / stats.Total : 0);
    }

    /// <summary>A node's impurity by its class-weighted positives and total (0 for a node of no weight).</summary>
    private static double Impurity<TCriterion>(double positive, double total)
        where TCriterion : struct, ICriterion =>
        total <= 0 ? 0 : TCriterion.OfRate(positive / total);

    /// <summary>
    /// A split criterion, by the node's positive rate. A tree is grown with it as a struct type argument, so the
    /// search loops are compiled once per criterion with the formula inlined (as an instance call it was an eighth of
    /// a forest fit's time).
    /// </summary>
    private interface ICriterion
    {
        static abstract double OfRate(double p);
    }

    private readonly struct Gini : ICriterion
    {
        public static double OfRate(double p) => 2 * p * (1 - p);
    }

    private readonly struct Entropy : ICriterion
    {
        public static double OfRate(double p) => (p > 0 ? -p * Math.Log2(p) : 0) + (p < 1 ? -(1 - p) * Math.Log2(1 - p) : 0);
    }
}
