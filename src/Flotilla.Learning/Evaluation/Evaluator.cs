using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;

namespace Flotilla.Learning.Evaluation;

/// <summary>Evaluates a fitted model on a held-out table.</summary>
public static class Evaluator
{
    public static EvaluationReport Evaluate(TrainedModel model, Table test)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(test);
        return Report(test.Labels, model.PredictProbabilities(test), model.Schema.LabelMapping);
    }

    /// <summary>The report for labels and P(positive) computed elsewhere.</summary>
    public static EvaluationReport Report(ReadOnlySpan<bool> labels, ReadOnlySpan<double> probabilities, LabelMapping mapping)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        var confusion = Metrics.Confusion(labels, probabilities);
        return new EvaluationReport(
            labels.Length,
            confusion.TruePositives + confusion.FalseNegatives,
            mapping.Positive,
            mapping.Negative,
            0.5,
            confusion.Accuracy,
            confusion.Precision,
            confusion.Recall,
            confusion.F1,
            Metrics.RocAuc(labels, probabilities),
            Metrics.AveragePrecision(labels, probabilities),
            Metrics.LogLoss(labels, probabilities),
            confusion,
            Metrics.RocCurve(labels, probabilities),
            Metrics.PrecisionRecallCurve(labels, probabilities));
    }
}
