using Flotilla.Learning.Artifacts;
using Microsoft.ML;
using Microsoft.ML.Trainers;

namespace Flotilla.Learning.Algorithms;

/// <summary>
/// L2-regularised logistic regression: ML.NET L-BFGS on standardized features (fitted on their scaled, sparse form and
/// re-centred after, see <see cref="ViewEncoding.Scaled"/>), the weights extracted into a <see cref="LinearPredictor"/>
/// that standardizes the same way at prediction, a missing value at its training mean.
/// </summary>
internal sealed class LogisticRegression : Algorithm
{
    public override string Name => "LogisticRegression";

    public override SearchSpace Space { get; } = new("LogisticRegression",
    [
        ParameterSpec.Categorical("penalty", Choices("l2", "none"), "penalty → L2Regularization on (l2) or 0 (none); L1 is not in the reference space."),
        ParameterSpec.Float("C", 1e-3, 1e3, logScale: true,
            reference: "C → L2Regularization = 1 / C: both sum the loss over rows, scikit-learn weights it by C, ML.NET weights the penalty instead."),
        ParameterSpec.Categorical("class_weight", Choices("none", "balanced"), "class_weight=balanced → example weights n / (2 × class count)."),
        ParameterSpec.Categorical("max_iter", Choices("50", "100", "200", "500"), "max_iter → MaximumNumberOfIterations."),
    ]);

    public override HyperParameters Defaults { get; } = new(new Dictionary<string, ParameterValue>
    {
        ["penalty"] = "l2",
        ["C"] = 1.0,
        ["class_weight"] = "none",
        ["max_iter"] = "100",
    });

    internal override Predictor FitEncoded(EncodedData data, HyperParameters hp, int seed, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var ml = new MLContext(seed);
        var balanced = Choice(hp, "class_weight") == "balanced";
        var l2 = Choice(hp, "penalty") == "l2" ? 1 / Number(hp, "C") : 0;
        // The scaled view holds its rows encoded once; L-BFGS reads them once per evaluation.
        var view = data.DataView(ViewEncoding.Scaled, balanced);
        var options = new LbfgsLogisticRegressionBinaryTrainer.Options
        {
            LabelColumnName = MlNet.Label,
            FeatureColumnName = MlNet.Features,
            ExampleWeightColumnName = balanced ? MlNet.Weight : null,
            L2Regularization = (float)l2,
            L1Regularization = 0,
            MaximumNumberOfIterations = Integer(hp, "max_iter"),
            NumberOfThreads = 1,
            ShowTrainingStatistics = false,
        };
        var model = ml.BinaryClassification.Trainers.LbfgsLogisticRegression(options).Fit(view);
        var linear = model.Model.SubModel;
        var weights = linear.Weights.ToArray();
        // Fitted on x / sd (see ViewEncoding.Scaled): on standardized rows the same model has bias b + w·(mean / sd).
        var standardizer = data.Standardizer;
        var bias = (double)linear.Bias;
        for (var j = 0; j < weights.Length; j++)
        {
            bias += weights[j] * (double)(standardizer.Mean[j] * standardizer.InverseScale[j]);
        }

        return new LinearPredictor(standardizer, weights, bias);
    }
}
