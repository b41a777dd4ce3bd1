using System.Reflection;
using Flotilla.Learning.Artifacts;
using Microsoft.ML;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;

namespace Flotilla.Learning.Algorithms;

/// <summary>
/// The bridge to ML.NET: in-memory data views built once per training set, and the extraction of fitted
/// trees into our own <see cref="TreeEnsemblePredictor"/>, so nothing of ML.NET is needed to score.
/// </summary>
internal static class MlNet
{
    public const string Features = "Features";
    public const string Label = "Label";
    public const string Weight = "Weight";

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
        var model = new MLContext(seed).BinaryClassification.Trainers.LightGbm(options).Fit(data.DataView(ViewEncoding.Native, balanced: false));
        return Extract(model.Model.SubModel.TrainedTreeEnsemble!, model.Model.Calibrator.Slope, model.Model.Calibrator.Offset, NaNRoutes.Learned(data));
    }

    /// <summary>
    /// Flattens an ML.NET tree ensemble; probability = 1 / (1 + exp(<paramref name="plattA"/>·raw + <paramref name="plattB"/>)).
    /// <paramref name="routes"/> says which way each node sends a NaN.
    /// </summary>
    public static TreeEnsemblePredictor Extract<TTree>(TreeEnsemble<TTree> ensemble, double plattA, double plattB, NaNRoutes routes)
        where TTree : RegressionTreeBase
    {
        var roots = new List<int>();
        var features = new List<int>();
        var thresholds = new List<float>();
        var left = new List<int>();
        var right = new List<int>();
        var nanRoutes = new List<int>();
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
                var defaults = routes.NeedsDefaults ? MissingDefaults(tree) : null;
                for (var n = 0; n < tree.NumberOfNodes; n++)
                {
                    if (tree.CategoricalSplitFlags.Count > n && tree.CategoricalSplitFlags[n])
                    {
                        throw new InvalidOperationException("Categorical tree splits are not used by Flotilla's learners.");
                    }

                    var feature = tree.NumericalSplitFeatureIndexes[n];
                    var threshold = tree.NumericalSplitThresholds[n];
                    features.Add(feature);
                    thresholds.Add(threshold);
                    left.Add(Child(tree.LeftChild[n]));
                    right.Add(Child(tree.RightChild[n]));
                    nanRoutes.Add(routes.Route(feature, threshold, defaults?[n] ?? 0));
                }
            }

            leaves.AddRange(tree.LeafValues);
        }

        return new TreeEnsemblePredictor(
            [.. roots], [.. features], [.. thresholds], [.. left], [.. right], [.. leaves], [.. ensemble.TreeWeights],
            ensemble.Bias, plattA, plattB, TreeOutput.Platt, [.. nanRoutes]);
    }

    // ML.NET keeps LightGBM's learned direction for a missing value as the value a NaN is replaced by (the threshold:
    // left; the threshold + 1: right; 0 when the feature had none, LightGBM's own rule) in a field its public tree type
    // does not expose. Read by reflection against the pinned ML.NET version; the test that compares our extracted trees
    // with ML.NET's scores on rows with missing values fails if it moves.
    private static readonly FieldInfo InnerTree = typeof(RegressionTreeBase).GetField("_tree", BindingFlags.NonPublic | BindingFlags.Instance)
        ?? throw new InvalidOperationException("ML.NET's RegressionTreeBase no longer holds its tree in '_tree'; the NaN directions of boosted trees cannot be read.");

    private static float[]? MissingDefaults(RegressionTreeBase tree)
    {
        var inner = InnerTree.GetValue(tree)!;
        var field = inner.GetType().GetField("DefaultValueForMissing", BindingFlags.Public | BindingFlags.Instance)
            ?? throw new InvalidOperationException("ML.NET's tree no longer has 'DefaultValueForMissing'; the NaN directions of boosted trees cannot be read.");
        // ML.NET drops the array when every entry is 0, which then means the same as 0 for each node.
        return (float[]?)field.GetValue(inner);
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
}
