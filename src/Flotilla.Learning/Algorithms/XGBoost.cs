using Flotilla.Learning.Artifacts;
using Microsoft.ML;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;

namespace Flotilla.Learning.Algorithms;

/// <summary>The engine behind the XGBoost slot; bench/README.md ("Learning") measures them.</summary>
internal enum BoostingEngine { Histogram, LightGbmDepthWise, FastTree }

/// <summary>
/// The XGBoost slot: gradient-boosted trees with XGBoost's parameters. The default engine is our own
/// <see cref="BoostingBuilder"/> over the forest's shared bins, which takes every XGBoost parameter with its meaning and
/// at 800,000 rows fits in about half of LightGBM's time (bench/README.md, "Scaling"): LightGBM builds its dataset at
/// every fit. LightGBM grown depth-wise (max_depth with 2^max_depth leaves, the previous default) and FastTree remain
/// selectable for the learning benchmark's comparison.
/// </summary>
internal sealed class XGBoost(BoostingEngine engine = BoostingEngine.Histogram) : Algorithm
{
    public override string Name => "XGBoost";

    public BoostingEngine Engine => engine;

    public override SearchSpace Space { get; } = new("XGBoost",
    [
        ParameterSpec.Integer("n_estimators", 50, 200, reference: "n_estimators → NumberOfIterations (FastTree: NumberOfTrees)."),
        ParameterSpec.Float("learning_rate", 1e-3, 1e-1, logScale: true, reference: "learning_rate (eta) → LearningRate."),
        ParameterSpec.Integer("max_depth", 3, 7, reference: "max_depth → MaximumTreeDepth with NumberOfLeaves = 2^max_depth (FastTree: leaves only)."),
        ParameterSpec.Integer("min_child_weight", 1, 10, reference: "min_child_weight → MinimumChildWeight (FastTree: MinimumExampleCountPerLeaf = 4 × min_child_weight)."),
        ParameterSpec.Float("subsample", 0.6, 1, reference: "subsample → SubsampleFraction each iteration (FastTree: BaggingExampleFraction)."),
        ParameterSpec.Float("colsample_bytree", 0.5, 1, reference: "colsample_bytree → FeatureFraction."),
        ParameterSpec.Categorical("gamma", Choices("0", "0.1", "0.5"), "gamma → MinimumSplitGain (FastTree: none)."),
        ParameterSpec.Categorical("reg_alpha", Choices("0", "0.01", "0.1", "1"), "reg_alpha → L1Regularization (FastTree: none)."),
        ParameterSpec.Categorical("reg_lambda", Choices("0.01", "0.1", "1"), "reg_lambda → L2Regularization (FastTree: none)."),
    ]);

    public override HyperParameters Defaults { get; } = new(new Dictionary<string, ParameterValue>
    {
        ["n_estimators"] = 100,
        ["learning_rate"] = 0.1,
        ["max_depth"] = 6,
        ["min_child_weight"] = 1,
        ["subsample"] = 1.0,
        ["colsample_bytree"] = 1.0,
        ["gamma"] = "0",
        ["reg_alpha"] = "0",
        ["reg_lambda"] = "1",
    });

    internal override Predictor FitEncoded(EncodedData data, HyperParameters hp, int seed, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var depth = Integer(hp, "max_depth");
        if (engine == BoostingEngine.Histogram)
        {
            var options = new BoostingOptions(
                Integer(hp, "n_estimators"), Number(hp, "learning_rate"), depth, Number(hp, "min_child_weight"),
                Number(hp, "subsample"), Number(hp, "colsample_bytree"), Number(hp, "gamma"), Number(hp, "reg_alpha"),
                Number(hp, "reg_lambda"));
            return new BoostingBuilder(data, options).Build(seed, ct);
        }

        if (engine == BoostingEngine.FastTree)
        {
            var subsample = Number(hp, "subsample");
            var fastTree = new FastTreeBinaryTrainer.Options
            {
                LabelColumnName = MlNet.Label,
                FeatureColumnName = MlNet.Features,
                NumberOfTrees = Integer(hp, "n_estimators"),
                LearningRate = Number(hp, "learning_rate"),
                NumberOfLeaves = 1 << depth,
                // A leaf's hessian sum is at most rows × 0.25 for the logistic loss, so XGBoost's min_child_weight w
                // needs at least 4w rows; one-row leaves make FastTree's Newton steps explode (AUC 0.92 measured).
                MinimumExampleCountPerLeaf = 4 * Integer(hp, "min_child_weight"),
                FeatureFraction = Number(hp, "colsample_bytree"),
                BaggingSize = subsample < 1 ? 1 : 0,
                BaggingExampleFraction = subsample,
                NumberOfThreads = 1,
                Seed = seed,
                FeatureSelectionSeed = seed,
            };
            var model = new MLContext(seed).BinaryClassification.Trainers.FastTree(fastTree).Fit(data.DataView(ViewEncoding.Imputed, balanced: false));
            return MlNet.Extract(model.Model.SubModel.TrainedTreeEnsemble!, model.Model.Calibrator.Slope, model.Model.Calibrator.Offset, NaNRoutes.Imputed(data.Schema));
        }

        var sub = Number(hp, "subsample");
        return MlNet.FitLightGbm(data, seed, new LightGbmBinaryTrainer.Options
        {
            NumberOfIterations = Integer(hp, "n_estimators"),
            LearningRate = Number(hp, "learning_rate"),
            NumberOfLeaves = 1 << depth,
            MinimumExampleCountPerLeaf = 1,
            Booster = new GradientBooster.Options
            {
                MaximumTreeDepth = depth,
                MinimumChildWeight = Number(hp, "min_child_weight"),
                SubsampleFraction = sub,
                SubsampleFrequency = sub < 1 ? 1 : 0,
                FeatureFraction = Number(hp, "colsample_bytree"),
                MinimumSplitGain = Number(hp, "gamma"),
                L1Regularization = Number(hp, "reg_alpha"),
                L2Regularization = Number(hp, "reg_lambda"),
            },
        });
    }
}
