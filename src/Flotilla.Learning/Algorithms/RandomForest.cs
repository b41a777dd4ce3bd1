using Flotilla.Learning.Artifacts;
using Microsoft.ML;
using Microsoft.ML.Trainers.FastTree;

namespace Flotilla.Learning.Algorithms;

/// <summary>The engine behind the random forest; bench/README.md ("Learning") measures both.</summary>
internal enum ForestEngine { Managed, FastForest }

/// <summary>
/// Random forest. The default engine is our own CART forest (<see cref="ForestBuilder"/>): it grows trees as
/// scikit-learn does, so every reference parameter (criterion, max_depth, min_samples_split, ...) has its
/// exact meaning, its leaves give a probability without calibration, and it fits many times faster than
/// ML.NET FastForest on these data sizes (see the learning benchmark). FastForest remains selectable: its
/// output is Platt-calibrated on the training rows and the sigmoid is saved inside the model.
/// </summary>
internal sealed class RandomForest(ForestEngine engine = ForestEngine.Managed) : Algorithm
{
    public override string Name => "RandomForest";

    public ForestEngine Engine => engine;

    public override SearchSpace Space { get; } = new("RandomForest",
    [
        ParameterSpec.Integer("n_estimators", 50, 500, 50, reference: "n_estimators → NumberOfTrees."),
        ParameterSpec.Categorical("criterion", Choices("gini", "entropy"),
            "criterion: same meaning. (FastForest engine: no equivalent, it grows regression trees on the label.)"),
        ParameterSpec.Integer("max_depth", 5, 20, 5,
            reference: "max_depth: same meaning. (FastForest engine: NumberOfLeaves = min(2^max_depth, rows / min_samples_leaf, 256).)"),
        ParameterSpec.Integer("min_samples_split", 2, 11,
            reference: "min_samples_split: same meaning. (FastForest engine: MinimumExampleCountPerLeaf ≥ ceil(min_samples_split / 2).)"),
        ParameterSpec.Integer("min_samples_leaf", 1, 11, reference: "min_samples_leaf: same meaning. (FastForest engine: MinimumExampleCountPerLeaf.)"),
        ParameterSpec.Categorical("max_features", Choices("sqrt", "log2", "all"),
            "max_features: features tried per split, int(sqrt(d)), int(log2(d)) or d. (FastForest engine: FeatureFractionPerSplit.)"),
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
        if (engine == ForestEngine.Managed)
        {
            // max_features counts input columns: a text column is one feature to the forest, not its one-hot slots.
            var width = Math.Max(data.Forest.Count, 1);
            var maxFeatures = Choice(hp, "max_features") switch
            {
                "sqrt" => (int)Math.Sqrt(width),
                "log2" => (int)Math.Log2(width),
                _ => width,
            };
            float[]? classWeights = Choice(hp, "class_weight") == "balanced" ? [data.BalancedWeights().Negative, data.BalancedWeights().Positive] : null;
            var builder = new ForestBuilder(
                data, Integer(hp, "n_estimators"), Choice(hp, "criterion") == "entropy", Integer(hp, "max_depth"),
                Integer(hp, "min_samples_split"), Integer(hp, "min_samples_leaf"), Math.Clamp(maxFeatures, 1, width), classWeights);
            return builder.Build(seed, ct);
        }

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
        var model = ml.BinaryClassification.Trainers.FastForest(options).Fit(data.DataView(ViewEncoding.Imputed, balanced));
        ct.ThrowIfCancellationRequested();
        var trees = MlNet.Extract(model.Model.TrainedTreeEnsemble!, 1, 0, NaNRoutes.Imputed(data.Schema));
        var raw = new double[data.Rows];
        var values = new float[data.Schema.Features.Count];
        var encoded = new float[data.Width];
        for (var r = 0; r < raw.Length; r++)
        {
            data.Encode(r, values, encoded, MissingValues.Impute);
            raw[r] = trees.Raw(encoded);
        }

        var (a, b) = MlNet.FitPlatt(raw, data.Y);
        return trees.WithPlatt(a, b);
    }
}
