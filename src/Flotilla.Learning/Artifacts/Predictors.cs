using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace Flotilla.Learning.Artifacts;

/// <summary>
/// The predictor's tag in the artifact. RoutedTreeEnsemble is the tree ensemble with NaN directions and
/// category sets per node; an ensemble that uses neither is still written as TreeEnsemble, so older Flotilla
/// versions keep reading it and older artifacts load unchanged. Ensemble is a weighted mean of members of the
/// other kinds (ensemble selection over a tuning run's trials).
/// </summary>
internal enum PredictorKind : byte { TreeEnsemble = 1, Linear = 2, GaussianNaiveBayes = 3, Mlp = 4, RoutedTreeEnsemble = 5, Ensemble = 6 }

/// <summary>
/// A fitted model reduced to plain arrays and a pure function from an encoded row to P(positive). Immutable,
/// so any number of threads can score with one instance; no ML.NET objects survive training.
/// </summary>
internal abstract class Predictor
{
    public abstract PredictorKind Kind { get; }

    /// <summary>P(label = positive) for one encoded row.</summary>
    public abstract double Probability(ReadOnlySpan<float> encoded);

    /// <summary>
    /// P(positive) of rows encoded one after the other (<paramref name="width"/> floats each) into <paramref name="output"/>.
    /// The same numbers as <see cref="Probability"/> row by row; a kind may visit the rows in an order kinder to the cache.
    /// </summary>
    public virtual void Probabilities(ReadOnlySpan<float> rows, int width, Span<double> output)
    {
        for (var i = 0; i < output.Length; i++)
        {
            output[i] = Probability(rows.Slice(i * width, width));
        }
    }

    public abstract long ApproximateBytes { get; }

    /// <summary>Whether this predictor reads rows of <paramref name="width"/> encoded features (checked at load).</summary>
    public abstract bool Fits(int width);

    protected abstract void WriteBody(BinaryWriter writer);

    public void Write(BinaryWriter writer)
    {
        writer.Write((byte)Kind);
        WriteBody(writer);
    }

    public static Predictor Read(BinaryReader reader) => ReadBody((PredictorKind)reader.ReadByte(), reader);

    /// <summary>An ensemble's member: any kind but an ensemble, refused before reading so nesting cannot recurse.</summary>
    public static Predictor ReadMember(BinaryReader reader)
    {
        var kind = (PredictorKind)reader.ReadByte();
        return kind == PredictorKind.Ensemble
            ? throw new ArtifactException("The artifact is corrupt: an ensemble's member is an ensemble.")
            : ReadBody(kind, reader);
    }

    private static Predictor ReadBody(PredictorKind kind, BinaryReader reader) => kind switch
    {
        PredictorKind.TreeEnsemble => TreeEnsemblePredictor.ReadBody(reader, routed: false),
        PredictorKind.RoutedTreeEnsemble => TreeEnsemblePredictor.ReadBody(reader, routed: true),
        PredictorKind.Linear => LinearPredictor.ReadBody(reader),
        PredictorKind.GaussianNaiveBayes => NaiveBayesPredictor.ReadBody(reader),
        PredictorKind.Mlp => MlpPredictor.ReadBody(reader),
        PredictorKind.Ensemble => EnsemblePredictor.ReadBody(reader),
        _ => throw new ArtifactException($"The artifact holds an unknown predictor kind {(byte)kind}."),
    };

    internal static double Sigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));

    internal static void WriteArray(BinaryWriter writer, float[] values)
    {
        writer.Write(values.Length);
        writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
    }

    internal static void WriteArray(BinaryWriter writer, int[] values)
    {
        writer.Write(values.Length);
        writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
    }

    internal static void WriteArray(BinaryWriter writer, long[] values)
    {
        writer.Write(values.Length);
        writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
    }

    internal static void WriteArray(BinaryWriter writer, double[] values)
    {
        writer.Write(values.Length);
        writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
    }

    internal static T[] ReadArray<T>(BinaryReader reader) where T : unmanaged
    {
        var length = reader.ReadInt32();
        if (length < 0 || length > 1 << 28)
        {
            throw new ArtifactException($"The artifact is corrupt: an array claims {length} elements.");
        }

        var values = new T[length];
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan());
        if (reader.Read(bytes) != bytes.Length)
        {
            throw new ArtifactException("The artifact is truncated.");
        }

        return values;
    }
}

/// <summary>
/// Per-slot centring and scaling learned on the training rows (a constant slot keeps scale 1). A missing value (NaN)
/// standardizes to 0, the training mean: the imputation the standardized families (logistic regression, naive Bayes,
/// the MLP) use when missing values pass through the encoding, so an artifact carries no imputation table of its own.
/// </summary>
internal sealed record Standardizer(float[] Mean, float[] InverseScale)
{
    public static Standardizer From(double[] mean, double[] variance)
    {
        var inverse = new float[mean.Length];
        for (var j = 0; j < inverse.Length; j++)
        {
            var std = Math.Sqrt(variance[j]);
            inverse[j] = std > 1e-12 ? (float)(1 / std) : 1f;
        }

        return new Standardizer([.. mean.Select(m => (float)m)], inverse);
    }

    public void Apply(ReadOnlySpan<float> input, Span<float> output)
    {
        TensorPrimitives.Subtract(input, Mean, output);
        TensorPrimitives.Multiply(output, InverseScale, output);
        ZeroNaN(output);
    }

    private static void ZeroNaN(Span<float> values)
    {
        var i = 0;
        for (; i + Vector256<float>.Count <= values.Length; i += Vector256<float>.Count)
        {
            var v = Vector256.Create((ReadOnlySpan<float>)values.Slice(i, Vector256<float>.Count));
            Vector256.ConditionalSelect(Vector256.Equals(v, v), v, Vector256<float>.Zero).CopyTo(values.Slice(i, Vector256<float>.Count));
        }

        for (; i < values.Length; i++)
        {
            if (float.IsNaN(values[i]))
            {
                values[i] = 0;
            }
        }
    }

    public void Write(BinaryWriter writer)
    {
        Predictor.WriteArray(writer, Mean);
        Predictor.WriteArray(writer, InverseScale);
    }

    public static Standardizer Read(BinaryReader reader) => new(Predictor.ReadArray<float>(reader), Predictor.ReadArray<float>(reader));

    public long Bytes => (Mean.Length + InverseScale.Length) * sizeof(float);
}

/// <summary>How a tree ensemble's raw output becomes a probability.</summary>
internal enum TreeOutput : byte
{
    /// <summary>Platt scaling: p = 1 / (1 + exp(A·raw + B)) (boosted trees, whose raw output is a margin).</summary>
    Platt = 0,

    /// <summary>The raw output is already P(positive): the mean of the trees' leaf class fractions (random forest).</summary>
    Probability = 1,
}

/// <summary>
/// A categorical node's test: the feature's one-hot slots from the node's <c>Feature</c> on; the set slot's
/// bit in <see cref="Left"/> sends the row left; a row with no slot set (a category the vocabulary lacks)
/// goes left when <see cref="OtherLeft"/>.
/// </summary>
internal readonly record struct CategorySplit(int Slots, ulong Left, bool OtherLeft)
{
    public const int MaxSlots = 64;

    /// <summary>
    /// Whether a row whose set slot in the column is <paramref name="hot"/> goes left (−1: none is set, a missing or
    /// unseen category).
    /// </summary>
    public bool GoesLeft(int hot) => hot < 0 ? OtherLeft : ((Left >> hot) & 1) != 0;
}

/// <summary>
/// The text columns a tree ensemble's category splits test, each a run of one-hot slots: a row's set slot in each is
/// found once per row, not once per node that tests it (a forest at 5,000 census rows had 53,670 such nodes).
/// </summary>
internal sealed class CategoryColumns
{
    private readonly int[] _offsets;
    private readonly int[] _slots;

    private CategoryColumns(int[] offsets, int[] slots, int[] ofSplit) =>
        (_offsets, _slots, OfSplit) = (offsets, slots, ofSplit);

    public int Count => _offsets.Length;

    /// <summary>Per category split, the column it tests.</summary>
    public int[] OfSplit { get; }

    public static CategoryColumns Of(ReadOnlySpan<TreeEnsemblePredictor.Node> nodes, CategorySplit[] splits)
    {
        var columns = new Dictionary<int, int>();
        var (offsets, slots) = (new List<int>(), new List<int>());
        var ofSplit = new int[splits.Length];
        Array.Fill(ofSplit, -1);
        foreach (var node in nodes)
        {
            if (node.Route < 0)
            {
                continue;
            }

            if ((uint)node.Route >= (uint)splits.Length)
            {
                throw new ArtifactException($"A node names category split {node.Route} of {splits.Length}.");
            }

            if (!columns.TryGetValue(node.Feature, out var column))
            {
                column = columns[node.Feature] = offsets.Count;
                offsets.Add(node.Feature);
                slots.Add(splits[node.Route].Slots);
            }

            var known = ofSplit[node.Route];
            if ((known >= 0 && known != column) || slots[column] != splits[node.Route].Slots)
            {
                throw new ArtifactException($"Category split {node.Route} does not match the text column at slot {node.Feature} that its node tests.");
            }
            ofSplit[node.Route] = column;
        }

        return new CategoryColumns([.. offsets], [.. slots], ofSplit);
    }

    /// <summary>Writes the row's set slot in each column, −1 where none is set (a missing or unseen category).</summary>
    public void FindHot(ReadOnlySpan<float> encoded, Span<int> hot)
    {
        for (var c = 0; c < _offsets.Length; c++)
        {
            hot[c] = encoded.Slice(_offsets[c], _slots[c]).IndexOf(1f);
        }
    }
}

/// <summary>
/// Regression trees flattened into one node array. A numeric node goes left when feature ≤ threshold, and a
/// NaN goes the way its route says; a categorical node goes left when the row's category is in its set. A
/// negative child <c>~k</c> is leaf k. Raw output = bias + Σ weight × leaf, turned into a probability by
/// <see cref="TreeOutput"/>.
/// </summary>
internal sealed class TreeEnsemblePredictor : Predictor
{
    /// <summary>Route of a numeric node whose NaN goes right (the comparison's own answer, so the default).</summary>
    public const int NaNRight = -1;

    /// <summary>Route of a numeric node whose NaN goes left; a route k ≥ 0 is categorical split k.</summary>
    public const int NaNLeft = -2;

    private readonly int[] _roots;
    private readonly Node[] _nodes;
    private readonly CategorySplit[] _categorySplits;
    private readonly CategoryColumns _columns;
    private readonly double[] _leaves;
    private readonly double[] _treeWeights;
    private readonly double _bias;
    private readonly double _plattA;
    private readonly double _plattB;
    private readonly TreeOutput _output;

    public TreeEnsemblePredictor(
        int[] roots, int[] features, float[] thresholds, int[] left, int[] right, double[] leaves, double[] treeWeights,
        double bias, double plattA, double plattB, TreeOutput output = TreeOutput.Platt, int[]? routes = null,
        CategorySplit[]? categorySplits = null)
    {
        if (features.Length != thresholds.Length || left.Length != features.Length || right.Length != features.Length ||
            treeWeights.Length != roots.Length || (routes is not null && routes.Length != features.Length))
        {
            throw new ArtifactException("The artifact's tree arrays disagree in length.");
        }

        _roots = roots;
        _nodes = new Node[features.Length];
        for (var n = 0; n < _nodes.Length; n++)
        {
            _nodes[n] = new Node(features[n], thresholds[n], left[n], right[n], routes?[n] ?? NaNRight);
        }

        _categorySplits = categorySplits ?? [];
        _columns = CategoryColumns.Of(_nodes, _categorySplits);
        _leaves = leaves;
        _treeWeights = treeWeights;
        _bias = bias;
        _plattA = plattA;
        _plattB = plattB;
        _output = output;
    }

    /// <summary>Trees already flattened into nodes (what a builder writes), without the per-field arrays.</summary>
    public TreeEnsemblePredictor(
        int[] roots, Node[] nodes, double[] leaves, double[] treeWeights, TreeOutput output, CategorySplit[] categorySplits)
    {
        if (treeWeights.Length != roots.Length)
        {
            throw new ArtifactException("The artifact's tree arrays disagree in length.");
        }

        _roots = roots;
        _nodes = nodes;
        _categorySplits = categorySplits;
        _columns = CategoryColumns.Of(nodes, categorySplits);
        _leaves = leaves;
        _treeWeights = treeWeights;
        _bias = 0;
        _plattA = 1;
        _plattB = 0;
        _output = output;
    }

    private TreeEnsemblePredictor(TreeEnsemblePredictor trees, double plattA, double plattB)
    {
        _roots = trees._roots;
        _nodes = trees._nodes;
        _categorySplits = trees._categorySplits;
        _columns = trees._columns;
        _leaves = trees._leaves;
        _treeWeights = trees._treeWeights;
        _bias = trees._bias;
        _plattA = plattA;
        _plattB = plattB;
        _output = TreeOutput.Platt;
    }

    /// <summary>One node in 20 bytes, so a walk touches one cache line per level instead of five arrays; Left/Right ~k is leaf k.</summary>
    internal readonly record struct Node(int Feature, float Threshold, int Left, int Right, int Route);

    public override PredictorKind Kind => IsRouted ? PredictorKind.RoutedTreeEnsemble : PredictorKind.TreeEnsemble;

    private bool IsRouted => _categorySplits.Length > 0 || _nodes.Any(n => n.Route != NaNRight);

    public int TreeCount => _roots.Length;

    public int NodeCount => _nodes.Length;

    public int CategoricalNodeCount => _nodes.Count(n => n.Route >= 0);

    public override long ApproximateBytes => 64 + _roots.Length * 12L + _nodes.Length * 20L + _leaves.Length * 8L + _categorySplits.Length * 24L;

    public override bool Fits(int width) => MaxFeature < width;

    /// <summary>The ensemble's raw output before calibration.</summary>
    public double Raw(ReadOnlySpan<float> encoded)
    {
        Span<int> hot = stackalloc int[_columns.Count];
        _columns.FindHot(encoded, hot);
        var sum = _bias;
        for (var t = 0; t < _roots.Length; t++)
        {
            sum += _treeWeights[t] * _leaves[Leaf(_roots[t], encoded, hot)];
        }

        return sum;
    }

    /// <summary>The leaf the row reaches from <paramref name="root"/>; <paramref name="hot"/>: its set slot in each text column.</summary>
    private int Leaf(int root, ReadOnlySpan<float> encoded, ReadOnlySpan<int> hot)
    {
        var nodes = _nodes;
        var index = root;
        while (index >= 0)
        {
            ref readonly var node = ref nodes[index];
            var value = encoded[node.Feature];
            var left = node.Route switch
            {
                NaNRight => value <= node.Threshold,
                NaNLeft => value <= node.Threshold || float.IsNaN(value),
                var split => _categorySplits[split].GoesLeft(hot[_columns.OfSplit[split]]),
            };
            index = left ? node.Left : node.Right;
        }

        return ~index;
    }

    public override double Probability(ReadOnlySpan<float> encoded) => Calibrate(Raw(encoded));

    /// <summary>
    /// Tree by tree over all the rows rather than row by row over all the trees: a deep forest's nodes are tens of
    /// megabytes, more than any cache, while one tree's stay cached for the whole batch (a random forest's
    /// cross-validation scored its folds several times faster this way, bench/README.md).
    /// </summary>
    public override void Probabilities(ReadOnlySpan<float> rows, int width, Span<double> output)
    {
        var columns = _columns.Count;
        // Pooled: a batch job scores its chunks without allocating.
        var hot = ArrayPool<int>.Shared.Rent(output.Length * columns);
        for (var i = 0; i < output.Length; i++)
        {
            _columns.FindHot(rows.Slice(i * width, width), hot.AsSpan(i * columns, columns));
        }

        output.Fill(_bias);
        for (var t = 0; t < _roots.Length; t++)
        {
            var (root, weight) = (_roots[t], _treeWeights[t]);
            for (var i = 0; i < output.Length; i++)
            {
                output[i] += weight * _leaves[Leaf(root, rows.Slice(i * width, width), hot.AsSpan(i * columns, columns))];
            }
        }

        ArrayPool<int>.Shared.Return(hot);

        for (var i = 0; i < output.Length; i++)
        {
            output[i] = Calibrate(output[i]);
        }
    }

    private double Calibrate(double raw) =>
        _output == TreeOutput.Probability ? Math.Clamp(raw, 0, 1) : Sigmoid(-(_plattA * raw + _plattB));

    public TreeEnsemblePredictor WithPlatt(double a, double b) => new(this, a, b);

    protected override void WriteBody(BinaryWriter writer)
    {
        WriteArray(writer, _roots);
        WriteArray(writer, [.. _nodes.Select(n => n.Feature)]);
        WriteArray(writer, [.. _nodes.Select(n => n.Threshold)]);
        WriteArray(writer, [.. _nodes.Select(n => n.Left)]);
        WriteArray(writer, [.. _nodes.Select(n => n.Right)]);
        WriteArray(writer, _leaves);
        WriteArray(writer, _treeWeights);
        writer.Write(_bias);
        writer.Write(_plattA);
        writer.Write(_plattB);
        writer.Write((byte)_output);
        if (IsRouted)
        {
            WriteArray(writer, [.. _nodes.Select(n => n.Route)]);
            WriteArray(writer, [.. _categorySplits.Select(c => c.Slots)]);
            WriteArray(writer, [.. _categorySplits.Select(c => unchecked((long)c.Left))]);
            WriteArray(writer, [.. _categorySplits.Select(c => c.OtherLeft ? 1 : 0)]);
        }
    }

    public static TreeEnsemblePredictor ReadBody(BinaryReader reader, bool routed)
    {
        var (roots, features, thresholds, left, right) =
            (ReadArray<int>(reader), ReadArray<int>(reader), ReadArray<float>(reader), ReadArray<int>(reader), ReadArray<int>(reader));
        var (leaves, treeWeights) = (ReadArray<double>(reader), ReadArray<double>(reader));
        var (bias, plattA, plattB, output) = (reader.ReadDouble(), reader.ReadDouble(), reader.ReadDouble(), (TreeOutput)reader.ReadByte());
        int[]? routes = null;
        CategorySplit[]? splits = null;
        if (routed)
        {
            routes = ReadArray<int>(reader);
            var (slots, masks, others) = (ReadArray<int>(reader), ReadArray<long>(reader), ReadArray<int>(reader));
            if (masks.Length != slots.Length || others.Length != slots.Length)
            {
                throw new ArtifactException("The artifact's category splits disagree in length.");
            }

            splits = [.. slots.Select((s, i) => new CategorySplit(s, unchecked((ulong)masks[i]), others[i] != 0))];
        }

        var predictor = new TreeEnsemblePredictor(
            roots, features, thresholds, left, right, leaves, treeWeights, bias, plattA, plattB, output, routes, splits);
        predictor.Validate();
        return predictor;
    }

    // A corrupt tree could loop forever or read out of range; check the structure once at load: children
    // point forward (trees are stored parent before child) or to an existing leaf.
    private void Validate()
    {
        if (_output is not (TreeOutput.Platt or TreeOutput.Probability))
        {
            throw new ArtifactException($"The artifact's tree output kind {(byte)_output} is unknown.");
        }

        foreach (var root in _roots)
        {
            if (root >= _nodes.Length || (root < 0 && ~root >= _leaves.Length))
            {
                throw new ArtifactException("The artifact's trees point outside their nodes.");
            }
        }

        for (var n = 0; n < _nodes.Length; n++)
        {
            foreach (var child in new[] { _nodes[n].Left, _nodes[n].Right })
            {
                if (child >= _nodes.Length || (child >= 0 && child <= n) || (child < 0 && ~child >= _leaves.Length))
                {
                    throw new ArtifactException("The artifact's trees point outside their nodes.");
                }
            }

            if (_nodes[n].Feature < 0)
            {
                throw new ArtifactException("The artifact's trees split on a negative feature index.");
            }

            if (_nodes[n].Route < NaNLeft || _nodes[n].Route >= _categorySplits.Length)
            {
                throw new ArtifactException($"The artifact's tree node {n} has an unknown route {_nodes[n].Route}.");
            }
        }

        if (_categorySplits.Any(c => c.Slots is < 1 or > CategorySplit.MaxSlots))
        {
            throw new ArtifactException($"The artifact's category splits must cover 1 to {CategorySplit.MaxSlots} slots.");
        }
    }

    /// <summary>The largest encoded slot the trees read, so a caller can check its row is wide enough.</summary>
    public int MaxFeature => _nodes.Length == 0 ? -1 : _nodes.Max(n => n.Route >= 0 ? n.Feature + _categorySplits[n.Route].Slots - 1 : n.Feature);
}

/// <summary>Logistic model on standardized features: p = σ(w·z + b).</summary>
internal sealed class LinearPredictor(Standardizer standardizer, float[] weights, double bias) : Predictor
{
    public override PredictorKind Kind => PredictorKind.Linear;

    public override long ApproximateBytes => 64 + standardizer.Bytes + weights.Length * 4L;

    public override bool Fits(int width) => weights.Length == width && standardizer.Mean.Length == width;

    public override double Probability(ReadOnlySpan<float> encoded)
    {
        Span<float> z = encoded.Length <= 1024 ? stackalloc float[encoded.Length] : new float[encoded.Length];
        standardizer.Apply(encoded, z);
        return Sigmoid(TensorPrimitives.Dot(z, weights) + bias);
    }

    protected override void WriteBody(BinaryWriter writer)
    {
        standardizer.Write(writer);
        WriteArray(writer, weights);
        writer.Write(bias);
    }

    public static LinearPredictor ReadBody(BinaryReader reader) =>
        new(Standardizer.Read(reader), ReadArray<float>(reader), reader.ReadDouble());
}

/// <summary>Gaussian naive Bayes on standardized features, both classes' log-likelihoods compared in log space.</summary>
internal sealed class NaiveBayesPredictor(Standardizer standardizer, double[] logPrior, double[] means, double[] variances) : Predictor
{
    // Per class c: means[c*d + j], variances[c*d + j]; logPrior[c].
    public override PredictorKind Kind => PredictorKind.GaussianNaiveBayes;

    public override long ApproximateBytes => 64 + standardizer.Bytes + (means.Length + variances.Length + 2) * 8L;

    public override bool Fits(int width) =>
        means.Length == 2 * width && variances.Length == 2 * width && logPrior.Length == 2 && standardizer.Mean.Length == width;

    public override double Probability(ReadOnlySpan<float> encoded)
    {
        var d = encoded.Length;
        Span<float> z = d <= 1024 ? stackalloc float[d] : new float[d];
        standardizer.Apply(encoded, z);
        var negative = JointLogLikelihood(z, 0, d);
        var positive = JointLogLikelihood(z, 1, d);
        return Sigmoid(positive - negative);
    }

    private double JointLogLikelihood(ReadOnlySpan<float> z, int c, int d)
    {
        var sum = logPrior[c];
        var offset = c * d;
        for (var j = 0; j < d; j++)
        {
            var variance = variances[offset + j];
            var diff = z[j] - means[offset + j];
            sum -= 0.5 * (Math.Log(2 * Math.PI * variance) + diff * diff / variance);
        }

        return sum;
    }

    protected override void WriteBody(BinaryWriter writer)
    {
        standardizer.Write(writer);
        WriteArray(writer, logPrior);
        WriteArray(writer, means);
        WriteArray(writer, variances);
    }

    public static NaiveBayesPredictor ReadBody(BinaryReader reader) =>
        new(Standardizer.Read(reader), ReadArray<double>(reader), ReadArray<double>(reader), ReadArray<double>(reader));
}

/// <summary>
/// A multi-layer perceptron: standardized input, hidden layers with relu or logistic activation, one logit out.
/// Layer l has weights[l] (inputs × outputs, input-major) and biases[l].
/// </summary>
internal sealed class MlpPredictor(Standardizer standardizer, bool relu, float[][] weights, float[][] biases) : Predictor
{
    public override PredictorKind Kind => PredictorKind.Mlp;

    public override long ApproximateBytes =>
        64 + standardizer.Bytes + weights.Sum(w => w.Length * 4L) + biases.Sum(b => b.Length * 4L);

    public override bool Fits(int width) => standardizer.Mean.Length == width && weights[0].Length == width * biases[0].Length;

    public int MaxWidth => Math.Max(standardizer.Mean.Length, biases.Max(b => b.Length));

    public override double Probability(ReadOnlySpan<float> encoded)
    {
        var width = MaxWidth;
        Span<float> a = width <= 1024 ? stackalloc float[width] : new float[width];
        Span<float> b = width <= 1024 ? stackalloc float[width] : new float[width];
        standardizer.Apply(encoded, a[..encoded.Length]);
        var inputs = encoded.Length;
        for (var l = 0; l < weights.Length; l++)
        {
            var outputs = biases[l].Length;
            Layer(weights[l], biases[l], a[..inputs], b[..outputs]);
            if (l < weights.Length - 1)
            {
                Activate(b[..outputs], relu);
            }

            b[..outputs].CopyTo(a);
            inputs = outputs;
        }

        return Sigmoid(a[0]);
    }

    /// <summary>
    /// output = bias + input · W with W stored input-major (inputs × outputs), so the inner loop runs over
    /// the wide output dimension and skips inputs that are zero (common after relu).
    /// </summary>
    internal static void Layer(float[] weights, float[] bias, ReadOnlySpan<float> input, Span<float> output)
    {
        var outputs = output.Length;
        if (outputs == 1)
        {
            output[0] = TensorPrimitives.Dot(weights.AsSpan(0, input.Length), input) + bias[0];
            return;
        }

        bias.CopyTo(output);
        for (var i = 0; i < input.Length; i++)
        {
            if (input[i] != 0)
            {
                TensorPrimitives.MultiplyAdd(weights.AsSpan(i * outputs, outputs), input[i], output, output);
            }
        }
    }

    internal static void Activate(Span<float> values, bool relu)
    {
        if (relu)
        {
            TensorPrimitives.Max(values, 0f, values);
        }
        else
        {
            TensorPrimitives.Sigmoid(values, values);
        }
    }

    protected override void WriteBody(BinaryWriter writer)
    {
        standardizer.Write(writer);
        writer.Write(relu);
        writer.Write(weights.Length);
        for (var l = 0; l < weights.Length; l++)
        {
            WriteArray(writer, weights[l]);
            WriteArray(writer, biases[l]);
        }
    }

    public static MlpPredictor ReadBody(BinaryReader reader)
    {
        var standardizer = Standardizer.Read(reader);
        var relu = reader.ReadBoolean();
        var layers = reader.ReadInt32();
        if (layers is < 1 or > 16)
        {
            throw new ArtifactException($"The artifact is corrupt: {layers} layers.");
        }

        var weights = new float[layers][];
        var biases = new float[layers][];
        var inputs = standardizer.Mean.Length;
        for (var l = 0; l < layers; l++)
        {
            weights[l] = ReadArray<float>(reader);
            biases[l] = ReadArray<float>(reader);
            if (weights[l].Length != inputs * biases[l].Length)
            {
                throw new ArtifactException("The artifact is corrupt: a layer's weights do not match its inputs and outputs.");
            }

            inputs = biases[l].Length;
        }

        return inputs == 1
            ? new MlpPredictor(standardizer, relu, weights, biases)
            : throw new ArtifactException("The artifact is corrupt: the network does not end in one output.");
    }
}
