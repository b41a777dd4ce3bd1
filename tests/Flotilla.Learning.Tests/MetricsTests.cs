using System.Text.Json;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;

namespace Flotilla.Learning.Tests;

public sealed class MetricsTests
{
    // Hand-computed: positives score 0.9, 0.8, 0.4; negatives 0.8, 0.4 (two ties across the classes).
    private static readonly bool[] Labels = [true, true, false, true, false];
    private static readonly double[] Scores = [0.9, 0.8, 0.8, 0.4, 0.4];

    [Fact]
    public void AUC_counts_tied_pairs_as_half()
    {
        // Pairs won: 0.9 beats both (2), 0.8 ties one (0.5) and beats one (1), 0.4 loses one and ties one (0.5): 4 of 6.
        Assert.Equal(4.0 / 6, Scorer.RocAuc.Compute(Labels, Scores), 12);
    }

    [Fact]
    public void Average_precision_steps_over_distinct_thresholds_with_duplicates()
    {
        // Thresholds 0.9, 0.8, 0.4 → (recall, precision) = (1/3, 1), (2/3, 2/3), (1, 3/5).
        var expected = 1.0 / 3 * 1 + 1.0 / 3 * (2.0 / 3) + 1.0 / 3 * (3.0 / 5);

        Assert.Equal(expected, Scorer.AveragePrecision.Compute(Labels, Scores), 12);
    }

    [Fact]
    public void Label_metrics_use_threshold_one_half()
    {
        // Predicted positive: rows 0, 1, 2 → TP 2, FP 1, FN 1, TN 1.
        Assert.Equal(3.0 / 5, Scorer.Accuracy.Compute(Labels, Scores), 12);
        Assert.Equal(2.0 / 3, Scorer.Precision.Compute(Labels, Scores), 12);
        Assert.Equal(2.0 / 3, Scorer.Recall.Compute(Labels, Scores), 12);
        Assert.Equal(2.0 / 3, Scorer.F1.Compute(Labels, Scores), 12);
        Assert.Equal((2.0 / 3 + 1.0 / 2) / 2, Scorer.BalancedAccuracy.Compute(Labels, Scores), 12);
    }

    [Fact]
    public void Log_loss_is_reported_negated_as_the_objective()
    {
        var expected = -(Math.Log(0.9) + Math.Log(0.8) + Math.Log(0.2) + Math.Log(0.4) + Math.Log(0.6)) / 5;

        Assert.Equal(expected, Scorer.LogLoss.Compute(Labels, Scores), 12);
        Assert.False(Scorer.LogLoss.GreaterIsBetter);
        Assert.Equal(-expected, Scorer.LogLoss.Objective(Labels, Scores), 12);
        Assert.Equal(Scorer.RocAuc.Compute(Labels, Scores), Scorer.RocAuc.Objective(Labels, Scores));
    }

    [Fact]
    public void Scorers_parse_by_name_and_unknown_names_list_the_known_ones()
    {
        Assert.Same(Scorer.RocAuc, Scorer.Parse("ROC_AUC"));
        Assert.Same(Scorer.LogLoss, Scorer.Parse("neg_log_loss"));
        var error = Assert.Throws<ArgumentException>(() => Scorer.Parse("gini"));
        Assert.Contains("average_precision", error.Message);
    }

    [Fact]
    public void The_report_holds_confusion_matrix_and_curves_from_the_corners()
    {
        var report = Evaluator.Report(Labels, Scores, new LabelMapping("no", "yes"));

        Assert.Equal(new ConfusionMatrix(2, 1, 1, 1), report.ConfusionMatrix);
        Assert.Equal(new RocPoint(0, 0, null), report.RocCurve[0]);
        Assert.Equal(new RocPoint(1, 1, 0.4), report.RocCurve[^1]);
        Assert.Equal(new PrecisionRecallPoint(0, 1, null), report.PrecisionRecallCurve[0]);
        Assert.Equal(new PrecisionRecallPoint(1, 0.6, 0.4), report.PrecisionRecallCurve[^1]);
        Assert.Equal(report.Auc, report.Metric("auc"));
        Assert.Equal(report.F1, report.Metric("f1"));
        Assert.Throws<ArgumentException>(() => report.Metric("kappa"));
    }

    [Fact]
    public void Curves_are_thinned_to_one_thousand_points_keeping_both_ends()
    {
        var random = new Random(3);
        var labels = Enumerable.Range(0, 5000).Select(_ => random.Next(2) == 1).ToArray();
        var scores = Enumerable.Range(0, 5000).Select(_ => random.NextDouble()).ToArray();

        var report = Evaluator.Report(labels, scores, new LabelMapping("0", "1"));

        Assert.Equal(1000, report.RocCurve.Count);
        Assert.Equal(1000, report.PrecisionRecallCurve.Count);
        Assert.Equal((0.0, 0.0), (report.RocCurve[0].FalsePositiveRate, report.RocCurve[0].TruePositiveRate));
        Assert.Equal((1.0, 1.0), (report.RocCurve[^1].FalsePositiveRate, report.RocCurve[^1].TruePositiveRate));
    }

    [Fact]
    public void The_report_is_camel_case_JSON_and_reads_back()
    {
        var report = Evaluator.Report(Labels, Scores, new LabelMapping("no", "yes"));

        var json = report.ToJson();

        using var document = JsonDocument.Parse(json);
        Assert.Equal("yes", document.RootElement.GetProperty("positiveLabel").GetString());
        Assert.Equal(2, document.RootElement.GetProperty("confusionMatrix").GetProperty("truePositives").GetInt32());
        Assert.True(document.RootElement.GetProperty("rocCurve")[0].TryGetProperty("falsePositiveRate", out _));
        var back = EvaluationReport.FromJson(json);
        Assert.Equal(report.Auc, back.Auc);
        Assert.Equal(report.RocCurve, back.RocCurve);
    }
}
