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
        return Report(Labels(test, model.Schema), model.PredictProbabilities(test), model.Schema.LabelMapping,
            model.Metadata.DecisionThreshold ?? DecisionThreshold.Default, model.Metadata.DecisionThresholdRule);
    }

    /// <summary>Evaluates a loaded artifact on a held-out table (columns matched by name).</summary>
    public static EvaluationReport Evaluate(LoadedModel model, Table test)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(test);
        return Report(Labels(test, model.Schema), model.PredictProbabilities(test), model.Schema.LabelMapping,
            model.DecisionThreshold, model.Metadata.DecisionThresholdRule);
    }

    // The test table's labels in the model's terms, matched by original value: a table read on its own
    // could map the same two values the other way round (e.g. with another PositiveLabel).
    private static bool[] Labels(Table test, ModelSchema schema)
    {
        var mapping = schema.LabelMapping;
        foreach (var value in new[] { test.LabelMapping.Negative, test.LabelMapping.Positive })
        {
            if (value != mapping.Negative && value != mapping.Positive)
            {
                throw new DataFormatException(
                    $"{test.Source}, column '{test.LabelName}': the label value '{value}' is not one the model knows ('{mapping.Negative}', '{mapping.Positive}').");
            }
        }

        var labels = new bool[test.RowCount];
        for (var r = 0; r < labels.Length; r++)
        {
            labels[r] = test.LabelMapping[test.Label(r)] == mapping.Positive;
        }

        return labels;
    }

    /// <summary>
    /// The report for labels and P(positive) computed elsewhere, label metrics at <paramref name="threshold"/>
    /// (chosen by <paramref name="rule"/>) and at 0.5.
    /// </summary>
    public static EvaluationReport Report(
        ReadOnlySpan<bool> labels, ReadOnlySpan<double> probabilities, LabelMapping mapping,
        double threshold = DecisionThreshold.Default, string? rule = null)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        var confusion = Metrics.Confusion(labels, probabilities, threshold);
        return new EvaluationReport(
            labels.Length,
            confusion.TruePositives + confusion.FalseNegatives,
            mapping.Positive,
            mapping.Negative,
            threshold,
            confusion.Accuracy,
            confusion.Precision,
            confusion.Recall,
            confusion.F1,
            Metrics.RocAuc(labels, probabilities),
            Metrics.AveragePrecision(labels, probabilities),
            Metrics.LogLoss(labels, probabilities),
            confusion,
            Metrics.RocCurve(labels, probabilities),
            Metrics.PrecisionRecallCurve(labels, probabilities))
        {
            ThresholdRule = rule,
            ConfusionMatrixAtHalf = Metrics.Confusion(labels, probabilities, DecisionThreshold.Default),
        };
    }
}
