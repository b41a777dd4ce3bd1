using Flotilla.Learning.Artifacts;

namespace Flotilla.Learning.Algorithms;

/// <summary>
/// Each feature of a training set cut into at most 256 ordered bins (one per distinct value when there are
/// that few, quantiles otherwise), stored feature-major, with the split threshold between each pair of
/// neighbouring bins. Built once per training set and shared by every tree and every trial on it.
/// </summary>
internal sealed class BinnedFeatures
{
    public const int MaxBins = 256;

    private BinnedFeatures(byte[] bins, float[][] thresholds, int rows)
    {
        Bins = bins;
        Thresholds = thresholds;
        Rows = rows;
    }

    /// <summary>Bin of row r in feature f at [f × Rows + r].</summary>
    public byte[] Bins { get; }

    /// <summary>Thresholds[f][b]: rows in bins ≤ b have values ≤ it, rows in bins &gt; b above it.</summary>
    public float[][] Thresholds { get; }

    public int Rows { get; }

    public int BinCount(int feature) => Thresholds[feature].Length + 1;

    public static BinnedFeatures Build(float[] x, int rows, int width)
    {
        var bins = new byte[rows * width];
        var thresholds = new float[width][];
        var column = new float[rows];
        for (var f = 0; f < width; f++)
        {
            for (var r = 0; r < rows; r++)
            {
                column[r] = x[r * width + f];
            }

            var sorted = (float[])column.Clone();
            Array.Sort(sorted);
            var distinct = new List<float>();
            foreach (var v in sorted)
            {
                if (distinct.Count == 0 || distinct[^1] != v)
                {
                    distinct.Add(v);
                }
            }

            // Upper edge of every bin: each distinct value when few, else values at evenly spaced quantiles.
            List<float> edges;
            if (distinct.Count <= MaxBins)
            {
                edges = distinct;
            }
            else
            {
                edges = [];
                for (var b = 1; b <= MaxBins; b++)
                {
                    var v = sorted[Math.Min(rows - 1, (int)((long)b * rows / MaxBins) - 1)];
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

            thresholds[f] = cut;
            var offset = f * rows;
            for (var r = 0; r < rows; r++)
            {
                var index = edges.BinarySearch(column[r]);
                bins[offset + r] = (byte)(index >= 0 ? index : ~index);
            }
        }

        return new BinnedFeatures(bins, thresholds, rows);
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
/// Random forest grown as scikit-learn grows it: bootstrap samples, CART trees with gini or entropy,
/// max_depth, min_samples_split, min_samples_leaf, max_features candidates per split, class weights.
/// Each leaf holds the weighted fraction of positives; the forest's probability is their mean.
/// Splits are searched over the shared <see cref="BinnedFeatures"/> (exact for ≤ 256 distinct values).
/// </summary>
internal sealed class ForestBuilder(
    EncodedData data, int trees, bool entropy, int maxDepth, int minSamplesSplit, int minSamplesLeaf, int maxFeatures,
    float[]? classWeights)
{
    private readonly List<int> _features = [];
    private readonly List<float> _thresholds = [];
    private readonly List<int> _left = [];
    private readonly List<int> _right = [];
    private readonly List<double> _leaves = [];

    public TreeEnsemblePredictor Build(int seed, CancellationToken ct)
    {
        var binned = data.Binned;
        var rows = data.Rows;
        var random = new Random(seed);
        var roots = new int[trees];
        var weights = new double[rows];
        var counts = new int[rows];
        var sample = new int[rows];
        var candidates = Enumerable.Range(0, data.Width).ToArray();
        var histogram = new double[BinnedFeatures.MaxBins * 3];
        for (var t = 0; t < trees; t++)
        {
            ct.ThrowIfCancellationRequested();
            Array.Clear(counts);
            for (var i = 0; i < rows; i++)
            {
                counts[random.Next(rows)]++;
            }

            var size = 0;
            for (var r = 0; r < rows; r++)
            {
                if (counts[r] > 0)
                {
                    sample[size++] = r;
                    weights[r] = counts[r] * (classWeights is null ? 1 : classWeights[data.Y[r] ? 1 : 0]);
                }
            }

            roots[t] = Grow(binned, sample, 0, size, counts, weights, 0, random, candidates, histogram);
        }

        var treeWeights = Enumerable.Repeat(1.0 / trees, trees).ToArray();
        return new TreeEnsemblePredictor(
            roots, [.. _features], [.. _thresholds], [.. _left], [.. _right], [.. _leaves], treeWeights, 0, 1, 0, TreeOutput.Probability);
    }

    /// <summary>Grows the subtree over sample[start..end); returns its node index, or ~leaf.</summary>
    private int Grow(
        BinnedFeatures binned, int[] sample, int start, int end, int[] counts, double[] weights, int depth,
        Random random, int[] candidates, double[] histogram)
    {
        double total = 0, positive = 0;
        var samples = 0;
        for (var i = start; i < end; i++)
        {
            var r = sample[i];
            total += weights[r];
            samples += counts[r];
            if (data.Y[r])
            {
                positive += weights[r];
            }
        }

        if (depth >= maxDepth || samples < minSamplesSplit || samples < 2 * minSamplesLeaf || positive <= 0 || positive >= total)
        {
            return Leaf(positive, total);
        }

        var parentImpurity = Impurity(positive, total) * total;
        var bestGain = 1e-12;
        var bestFeature = -1;
        var bestBin = -1;
        // Draw max_features candidates without replacement (a partial Fisher–Yates shuffle).
        for (var k = 0; k < maxFeatures; k++)
        {
            var pick = k + random.Next(candidates.Length - k);
            (candidates[k], candidates[pick]) = (candidates[pick], candidates[k]);
            var f = candidates[k];
            var binCount = binned.BinCount(f);
            if (binCount < 2)
            {
                continue;
            }

            var h = histogram.AsSpan(0, binCount * 3);
            h.Clear();
            var offset = f * binned.Rows;
            for (var i = start; i < end; i++)
            {
                var r = sample[i];
                var b = binned.Bins[offset + r] * 3;
                h[b] += weights[r];
                h[b + 1] += data.Y[r] ? weights[r] : 0;
                h[b + 2] += counts[r];
            }

            double leftTotal = 0, leftPositive = 0, leftSamples = 0;
            for (var b = 0; b < binCount - 1; b++)
            {
                leftTotal += h[b * 3];
                leftPositive += h[b * 3 + 1];
                leftSamples += h[b * 3 + 2];
                if (h[b * 3 + 2] == 0 || leftSamples < minSamplesLeaf)
                {
                    continue;
                }

                if (samples - leftSamples < minSamplesLeaf)
                {
                    break;
                }

                var rightTotal = total - leftTotal;
                var gain = parentImpurity - Impurity(leftPositive, leftTotal) * leftTotal - Impurity(positive - leftPositive, rightTotal) * rightTotal;
                if (gain > bestGain)
                {
                    (bestGain, bestFeature, bestBin) = (gain, f, b);
                }
            }
        }

        if (bestFeature < 0)
        {
            return Leaf(positive, total);
        }

        // Partition sample[start..end) in place: bins ≤ bestBin to the left.
        var binsOffset = bestFeature * binned.Rows;
        var middle = start;
        for (var i = start; i < end; i++)
        {
            if (binned.Bins[binsOffset + sample[i]] <= bestBin)
            {
                (sample[i], sample[middle]) = (sample[middle], sample[i]);
                middle++;
            }
        }

        var node = _features.Count;
        _features.Add(bestFeature);
        _thresholds.Add(binned.Thresholds[bestFeature][bestBin]);
        _left.Add(0);
        _right.Add(0);
        _left[node] = Grow(binned, sample, start, middle, counts, weights, depth + 1, random, candidates, histogram);
        _right[node] = Grow(binned, sample, middle, end, counts, weights, depth + 1, random, candidates, histogram);
        return node;
    }

    private int Leaf(double positive, double total)
    {
        _leaves.Add(total > 0 ? positive / total : 0);
        return ~(_leaves.Count - 1);
    }

    private double Impurity(double positive, double total)
    {
        if (total <= 0)
        {
            return 0;
        }

        var p = positive / total;
        if (!entropy)
        {
            return 2 * p * (1 - p);
        }

        return (p > 0 ? -p * Math.Log2(p) : 0) + (p < 1 ? -(1 - p) * Math.Log2(1 - p) : 0);
    }
}
