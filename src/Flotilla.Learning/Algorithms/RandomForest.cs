using Flotilla.Learning.Artifacts;
using Microsoft.ML;
using Microsoft.ML.Trainers.FastTree;

namespace Flotilla.Learning.Algorithms;

/// <summary>
/// Random forest: ML.NET FastForest, extracted into our tree scorer. FastForest has no probability, so the
/// forest's output is Platt-calibrated on the training rows and the sigmoid is saved inside the model.
/// </summary>
internal sealed class RandomForest : Algorithm
{
    public override string Name => "RandomForest";

    public override SearchSpace Space { get; } = new("RandomForest",
    [
        ParameterSpec.Integer("n_estimators", 50, 500, 50, reference: "n_estimators → NumberOfTrees."),
        ParameterSpec.Categorical("criterion", Choices("gini", "entropy"),
            "criterion: no equivalent; FastForest grows regression trees on the label (variance reduction). Accepted and recorded, no effect."),
        ParameterSpec.Integer("max_depth", 5, 20, 5,
            reference: "max_depth: FastForest grows leaf-wise without a depth limit; mapped to NumberOfLeaves = min(2^max_depth, rows / min_samples_leaf, 256)."),
        ParameterSpec.Integer("min_samples_split", 2, 11,
            reference: "min_samples_split: folded into MinimumExampleCountPerLeaf = max(min_samples_leaf, ceil(min_samples_split / 2))."),
        ParameterSpec.Integer("min_samples_leaf", 1, 11, reference: "min_samples_leaf → MinimumExampleCountPerLeaf."),
        ParameterSpec.Categorical("max_features", Choices("sqrt", "log2", "all"),
            "max_features → FeatureFractionPerSplit (sqrt(d)/d, log2(d)/d or 1)."),
        ParameterSpec.Categorical("class_weight", Choices("none", "balanced"), "class_weight=balanced → example weights n / (2 × class count)."),
    ]);

    public override HyperParameters Defaults { get; } = new(new Dictionary<string, ParameterValue>
    {
        ["n_estimators"] = 100,
        ["criterion"] = "gini",
        ["max_depth"] = 20,
        ["min_samples_split"] = 2,
        ["min_samples_leaf"] = 1,
        ["max_features"] = "sqrt",
        ["class_weight"] = "none",
    });

    internal override Predictor FitEncoded(EncodedData data, HyperParameters hp, int seed, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var ml = new MLContext(seed);
        var minLeaf = Math.Max(Integer(hp, "min_samples_leaf"), (Integer(hp, "min_samples_split") + 1) / 2);
        var leaves = (int)Math.Clamp(Math.Min(Math.Pow(2, Integer(hp, "max_depth")), data.Rows / (double)minLeaf), 2, 256);
        var d = Math.Max(data.Width, 1);
        var featureFraction = Choice(hp, "max_features") switch
        {
            "sqrt" => Math.Sqrt(d) / d,
            "log2" => Math.Max(1, Math.Log2(d)) / d,
            _ => 1.0,
        };
        var balanced = Choice(hp, "class_weight") == "balanced";
        var options = new FastForestBinaryTrainer.Options
        {
            LabelColumnName = MlNet.Label,
            FeatureColumnName = MlNet.Features,
            ExampleWeightColumnName = balanced ? MlNet.Weight : null,
            NumberOfTrees = Integer(hp, "n_estimators"),
            NumberOfLeaves = leaves,
            MinimumExampleCountPerLeaf = minLeaf,
            FeatureFractionPerSplit = Math.Clamp(featureFraction, 1e-3, 1),
            NumberOfThreads = 1,
            Seed = seed,
            FeatureSelectionSeed = seed,
        };
        var model = ml.BinaryClassification.Trainers.FastForest(options).Fit(data.DataView(balanced));
        ct.ThrowIfCancellationRequested();
        var trees = MlNet.Extract(model.Model.TrainedTreeEnsemble!, 1, 0);
        var raw = new double[data.Rows];
        for (var r = 0; r < raw.Length; r++)
        {
            raw[r] = trees.Raw(data.X.AsSpan(r * data.Width, data.Width));
        }

        var (a, b) = MlNet.FitPlatt(raw, data.Y);
        return trees.WithPlatt(a, b);
    }
}
