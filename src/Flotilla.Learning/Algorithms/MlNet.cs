using Flotilla.Learning.Artifacts;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;

namespace Flotilla.Learning.Algorithms;

/// <summary>
/// The bridge to ML.NET: in-memory data views built once per training set, and the extraction of fitted
/// trees into our own <see cref="TreeEnsemblePredictor"/>, so nothing of ML.NET is needed to score.
/// </summary>
internal static class MlNet
{
    // Data views are immutable and not tied to a context's randomness; one context builds them all.
    private static readonly MLContext Shared = new(0);

    public const string Features = nameof(MlRow.Features);
    public const string Label = nameof(MlRow.Label);
    public const string Weight = nameof(MlRow.Weight);

    public static IDataView ToDataView(float[] x, bool[] y, int width, float[]? weights)
    {
        var rows = new MlRow[y.Length];
        for (var r = 0; r < rows.Length; r++)
        {
            rows[r] = new MlRow { Features = x.AsSpan(r * width, width).ToArray(), Label = y[r], Weight = weights?[r] ?? 1f };
        }

        var definition = SchemaDefinition.Create(typeof(MlRow));
        definition[Features].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        return Shared.Data.LoadFromEnumerable(rows, definition);
    }

    /// <summary>
    /// Fits LightGBM with the settings every family shares: one thread (parallelism belongs to the trial
    /// scheduler), deterministic and silent, LightGBM's own sigmoid. The caller sets the trees and the booster.
    /// </summary>
    public static TreeEnsemblePredictor FitLightGbm(EncodedData data, int seed, LightGbmBinaryTrainer.Options options)
    {
        options.LabelColumnName = Label;
        options.FeatureColumnName = Features;
        options.NumberOfThreads = 1;
        // LightGBM's own default; ML.NET's 0.5 quarters every hessian, so min_child_weight would mean 4× more.
        options.Sigmoid = 1;
        options.Seed = seed;
        options.Deterministic = true;
        options.Silent = true;
        options.Verbose = false;
        var model = new MLContext(seed).BinaryClassification.Trainers.LightGbm(options).Fit(data.DataView(false));
        return Extract(model.Model.SubModel.TrainedTreeEnsemble!, model.Model.Calibrator.Slope, model.Model.Calibrator.Offset);
    }

    /// <summary>Flattens an ML.NET tree ensemble; probability = 1 / (1 + exp(<paramref name="plattA"/>·raw + <paramref name="plattB"/>)).</summary>
    public static TreeEnsemblePredictor Extract<TTree>(TreeEnsemble<TTree> ensemble, double plattA, double plattB)
        where TTree : RegressionTreeBase
    {
        var roots = new List<int>();
        var features = new List<int>();
        var thresholds = new List<float>();
        var left = new List<int>();
        var right = new List<int>();
        var leaves = new List<double>();
        foreach (var tree in ensemble.Trees)
        {
            var nodeOffset = features.Count;
            var leafOffset = leaves.Count;
            int Child(int child) => child < 0 ? ~(leafOffset + ~child) : nodeOffset + child;

            if (tree.NumberOfNodes == 0)
            {
                // A stump: one leaf, reached at once.
                roots.Add(~leafOffset);
            }
            else
            {
                roots.Add(nodeOffset);
                for (var n = 0; n < tree.NumberOfNodes; n++)
                {
                    if (tree.CategoricalSplitFlags.Count > n && tree.CategoricalSplitFlags[n])
                    {
                        throw new InvalidOperationException("Categorical tree splits are not used by Flotilla's learners.");
                    }

                    features.Add(tree.NumericalSplitFeatureIndexes[n]);
                    thresholds.Add(tree.NumericalSplitThresholds[n]);
                    left.Add(Child(tree.LeftChild[n]));
                    right.Add(Child(tree.RightChild[n]));
                }
            }

            leaves.AddRange(tree.LeafValues);
        }

        return new TreeEnsemblePredictor(
            [.. roots], [.. features], [.. thresholds], [.. left], [.. right], [.. leaves], [.. ensemble.TreeWeights],
            ensemble.Bias, plattA, plattB);
    }

    /// <summary>Fits Platt's sigmoid to raw scores (with his smoothed targets, so separable data stays finite).</summary>
    public static (double A, double B) FitPlatt(ReadOnlySpan<double> raw, ReadOnlySpan<bool> labels)
    {
        var positives = 0;
        foreach (var l in labels)
        {
            positives += l ? 1 : 0;
        }

        var negatives = labels.Length - positives;
        var hi = (positives + 1.0) / (positives + 2.0);
        var lo = 1.0 / (negatives + 2.0);
        double a = 0, b = Math.Log((negatives + 1.0) / (positives + 1.0));
        // Newton's method with backtracking on the cross-entropy (Lin, Lin & Weng 2007).
        var f = PlattLoss(raw, labels, a, b, hi, lo);
        for (var iteration = 0; iteration < 100; iteration++)
        {
            double g1 = 0, g2 = 0, h11 = 1e-12, h22 = 1e-12, h21 = 0;
            for (var i = 0; i < raw.Length; i++)
            {
                var t = labels[i] ? hi : lo;
                var p = Predictor.Sigmoid(-(a * raw[i] + b));
                var q = 1 - p;
                var d2 = p * q;
                h11 += raw[i] * raw[i] * d2;
                h22 += d2;
                h21 += raw[i] * d2;
                var d1 = t - p;
                g1 += raw[i] * d1;
                g2 += d1;
            }

            if (Math.Abs(g1) < 1e-7 && Math.Abs(g2) < 1e-7)
            {
                break;
            }

            var det = h11 * h22 - h21 * h21;
            var da = -(h22 * g1 - h21 * g2) / det;
            var db = -(-h21 * g1 + h11 * g2) / det;
            var gd = g1 * da + g2 * db;
            var step = 1.0;
            while (step >= 1e-10)
            {
                var fa = PlattLoss(raw, labels, a + step * da, b + step * db, hi, lo);
                if (fa < f + 1e-4 * step * gd)
                {
                    a += step * da;
                    b += step * db;
                    f = fa;
                    break;
                }

                step /= 2;
            }

            if (step < 1e-10)
            {
                break;
            }
        }

        return (a, b);
    }

    private static double PlattLoss(ReadOnlySpan<double> raw, ReadOnlySpan<bool> labels, double a, double b, double hi, double lo)
    {
        double loss = 0;
        for (var i = 0; i < raw.Length; i++)
        {
            var t = labels[i] ? hi : lo;
            var z = a * raw[i] + b;
            // -[t log p + (1-t) log(1-p)] with p = 1/(1+e^z), written to avoid overflow.
            loss += z >= 0 ? t * z + Math.Log(1 + Math.Exp(-z)) : (t - 1) * z + Math.Log(1 + Math.Exp(z));
        }

        return loss;
    }

    /// <summary>A row of an in-memory training set; public members because ML.NET binds them by reflection.</summary>
    internal sealed class MlRow
    {
        public float[] Features { get; set; } = [];

        public bool Label { get; set; }

        public float Weight { get; set; }
    }
}
