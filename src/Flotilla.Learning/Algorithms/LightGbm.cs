using Flotilla.Learning.Artifacts;
using Microsoft.ML.Trainers.LightGbm;

namespace Flotilla.Learning.Algorithms;

/// <summary>LightGBM through ML.NET, single-threaded (parallelism belongs to the trial scheduler).</summary>
internal sealed class LightGbm : Algorithm
{
    public override string Name => "LightGBM";

    public override SearchSpace Space { get; } = new("LightGBM",
    [
        ParameterSpec.Categorical("boosting_type", Choices("gbdt", "dart", "goss"), "boosting_type → Booster (GradientBooster, DartBooster, GossBooster)."),
        ParameterSpec.Integer("num_leaves", 10, 101, reference: "num_leaves → NumberOfLeaves."),
        ParameterSpec.Integer("max_depth", 3, 7, reference: "max_depth → MaximumTreeDepth."),
        ParameterSpec.Float("learning_rate", 1e-3, 1e-1, logScale: true, reference: "learning_rate → LearningRate."),
        ParameterSpec.Integer("n_estimators", 50, 200, reference: "n_estimators → NumberOfIterations."),
        ParameterSpec.Float("subsample", 0.5, 1, reference: "subsample → SubsampleFraction (bagging every iteration; ignored by goss, which samples by gradient)."),
        ParameterSpec.Float("colsample_bytree", 0.5, 1, reference: "colsample_bytree → FeatureFraction."),
        ParameterSpec.Categorical("reg_alpha", Choices("0", "0.1", "0.5"), "reg_alpha → L1Regularization."),
        ParameterSpec.Categorical("reg_lambda", Choices("0", "0.1", "0.5"), "reg_lambda → L2Regularization."),
        ParameterSpec.Categorical("min_split_gain", Choices("0", "0.1", "0.5"), "min_split_gain → MinimumSplitGain."),
        ParameterSpec.Integer("min_child_weight", 1, 10, reference: "min_child_weight → MinimumChildWeight."),
        ParameterSpec.Integer("min_child_samples", 5, 21, reference: "min_child_samples → MinimumExampleCountPerLeaf."),
    ]);

    public override HyperParameters Defaults { get; } = new(new Dictionary<string, ParameterValue>
    {
        ["boosting_type"] = "gbdt",
        ["num_leaves"] = 31,
        ["max_depth"] = 7,
        ["learning_rate"] = 0.1,
        ["n_estimators"] = 100,
        ["subsample"] = 1.0,
        ["colsample_bytree"] = 1.0,
        ["reg_alpha"] = "0",
        ["reg_lambda"] = "0",
        ["min_split_gain"] = "0",
        ["min_child_weight"] = 1,
        ["min_child_samples"] = 20,
    });

    internal override Predictor FitEncoded(EncodedData data, HyperParameters hp, int seed, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var boosting = Choice(hp, "boosting_type");
        var subsample = boosting == "goss" ? 1 : Number(hp, "subsample");
        BoosterParameterBase.OptionsBase booster = boosting switch
        {
            "dart" => new DartBooster.Options(),
            "goss" => new GossBooster.Options(),
            _ => new GradientBooster.Options(),
        };
        booster.MaximumTreeDepth = Integer(hp, "max_depth");
        booster.MinimumChildWeight = Number(hp, "min_child_weight");
        booster.SubsampleFraction = subsample;
        booster.SubsampleFrequency = subsample < 1 ? 1 : 0;
        booster.FeatureFraction = Number(hp, "colsample_bytree");
        booster.MinimumSplitGain = Number(hp, "min_split_gain");
        booster.L1Regularization = Number(hp, "reg_alpha");
        booster.L2Regularization = Number(hp, "reg_lambda");
        return MlNet.FitLightGbm(data, seed, new LightGbmBinaryTrainer.Options
        {
            NumberOfIterations = Integer(hp, "n_estimators"),
            LearningRate = Number(hp, "learning_rate"),
            NumberOfLeaves = Integer(hp, "num_leaves"),
            MinimumExampleCountPerLeaf = Integer(hp, "min_child_samples"),
            Booster = booster,
        });
    }
}
