using System.Text.Json;

namespace Flotilla.Learning.Evaluation;

public sealed record ConfusionMatrix(int TruePositives, int FalsePositives, int TrueNegatives, int FalseNegatives)
{
    public int Total => TruePositives + FalsePositives + TrueNegatives + FalseNegatives;

    public double Accuracy => Total == 0 ? 0 : (TruePositives + TrueNegatives) / (double)Total;

    /// <summary>0 when nothing was predicted positive (scikit-learn's zero_division=0).</summary>
    public double Precision => TruePositives + FalsePositives == 0 ? 0 : TruePositives / (double)(TruePositives + FalsePositives);

    public double Recall => TruePositives + FalseNegatives == 0 ? 0 : TruePositives / (double)(TruePositives + FalseNegatives);

    public double Specificity => TrueNegatives + FalsePositives == 0 ? 0 : TrueNegatives / (double)(TrueNegatives + FalsePositives);

    public double BalancedAccuracy => (Recall + Specificity) / 2;

    public double F1 => Precision + Recall == 0 ? 0 : 2 * Precision * Recall / (Precision + Recall);
}

/// <summary>A point of the ROC curve; the threshold is null for the (0, 0) start.</summary>
public sealed record RocPoint(double FalsePositiveRate, double TruePositiveRate, double? Threshold);

/// <summary>A point of the precision–recall curve; the threshold is null for the (recall 0, precision 1) start.</summary>
public sealed record PrecisionRecallPoint(double Recall, double Precision, double? Threshold);

/// <summary>
/// The held-out evaluation of a model (the pipeline's evaluation.json). Label metrics use the model's decision
/// threshold on P(positive) (<see cref="Threshold"/>, chosen by <see cref="ThresholdRule"/>; 0.5 for a model
/// without one), and <see cref="ConfusionMatrixAtHalf"/> keeps them at 0.5 for comparison; curves hold at most
/// 1,000 points each. JSON is camelCase (see <see cref="ToJson"/>).
/// </summary>
public sealed record EvaluationReport(
    int Rows,
    int Positives,
    string PositiveLabel,
    string NegativeLabel,
    double Threshold,
    double Accuracy,
    double Precision,
    double Recall,
    double F1,
    double Auc,
    double AveragePrecision,
    double LogLoss,
    ConfusionMatrix ConfusionMatrix,
    IReadOnlyList<RocPoint> RocCurve,
    IReadOnlyList<PrecisionRecallPoint> PrecisionRecallCurve)
{
    /// <summary>How <see cref="Threshold"/> was chosen (f1, balanced_accuracy, youden or the number); null for 0.5 by default.</summary>
    public string? ThresholdRule { get; init; }

    /// <summary>Counts and label metrics at 0.5, whatever <see cref="Threshold"/> is.</summary>
    public ConfusionMatrix? ConfusionMatrixAtHalf { get; init; }

    /// <summary>camelCase, null thresholds kept, indented for people reading the file.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    /// <summary>The names <see cref="Metric"/> accepts (the pipeline's registration gate).</summary>
    public static IReadOnlyList<string> MetricNames { get; } = ["accuracy", "precision", "recall", "f1", "auc"];

    /// <summary>A metric by name: accuracy, precision, recall, f1 or auc (roc_auc accepted); unknown names list the known ones.</summary>
    public double Metric(string name) => name?.Trim().ToLowerInvariant() switch
    {
        "accuracy" => Accuracy,
        "precision" => Precision,
        "recall" => Recall,
        "f1" => F1,
        "auc" or "roc_auc" => Auc,
        "average_precision" => AveragePrecision,
        "log_loss" => LogLoss,
        _ => throw new ArgumentException($"Unknown metric '{name}'. Known metrics: {string.Join(", ", MetricNames)}.", nameof(name)),
    };

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    public static EvaluationReport FromJson(string json) =>
        JsonSerializer.Deserialize<EvaluationReport>(json, JsonOptions)
        ?? throw new JsonException("The evaluation report is empty.");
}
