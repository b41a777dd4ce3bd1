namespace Flotilla.Learning.Evaluation;

/// <summary>
/// A cross-validation scorer (scikit-learn names). <see cref="Compute"/> gives the metric itself;
/// <see cref="Objective"/> gives the value to maximise — the metric, or its negation when
/// <see cref="GreaterIsBetter"/> is false (log_loss), as scikit-learn's neg_log_loss. Cross-validation
/// fold scores are objectives, so a tuner always maximises.
/// </summary>
public sealed class Scorer
{
    private readonly Func<bool[], double[], double> _compute;

    private Scorer(string name, bool greaterIsBetter, Func<bool[], double[], double> compute)
    {
        Name = name;
        GreaterIsBetter = greaterIsBetter;
        _compute = compute;
    }

    public static Scorer Accuracy { get; } = new("accuracy", true, (y, p) => Metrics.Confusion(y, p).Accuracy);
    public static Scorer BalancedAccuracy { get; } = new("balanced_accuracy", true, (y, p) => Metrics.Confusion(y, p).BalancedAccuracy);
    public static Scorer Precision { get; } = new("precision", true, (y, p) => Metrics.Confusion(y, p).Precision);
    public static Scorer Recall { get; } = new("recall", true, (y, p) => Metrics.Confusion(y, p).Recall);
    public static Scorer F1 { get; } = new("f1", true, (y, p) => Metrics.Confusion(y, p).F1);
    public static Scorer RocAuc { get; } = new("roc_auc", true, (y, p) => Metrics.RocAuc(y, p));
    public static Scorer AveragePrecision { get; } = new("average_precision", true, (y, p) => Metrics.AveragePrecision(y, p));
    public static Scorer LogLoss { get; } = new("log_loss", false, (y, p) => Metrics.LogLoss(y, p));

    public static IReadOnlyList<Scorer> All { get; } = [Accuracy, BalancedAccuracy, Precision, Recall, F1, RocAuc, AveragePrecision, LogLoss];

    public string Name { get; }

    public bool GreaterIsBetter { get; }

    /// <summary>
    /// The scorer named <paramref name="name"/> (case-insensitive; also auc, neg_log_loss); an unknown name
    /// lists the known ones.
    /// </summary>
    public static Scorer Parse(string name)
    {
        var key = name?.Trim().ToLowerInvariant();
        return key switch
        {
            "auc" => RocAuc,
            "neg_log_loss" => LogLoss,
            _ => All.FirstOrDefault(s => s.Name == key)
                ?? throw new ArgumentException(
                    $"Unknown scorer '{name}'. Known scorers: {string.Join(", ", All.Select(s => s.Name))}.", nameof(name)),
        };
    }

    /// <summary>The metric on labels and P(positive) (threshold 0.5 for label metrics).</summary>
    public double Compute(ReadOnlySpan<bool> labels, ReadOnlySpan<double> probabilities) =>
        _compute(labels.ToArray(), probabilities.ToArray());

    /// <summary>The value to maximise: the metric, negated when lower is better.</summary>
    public double Objective(ReadOnlySpan<bool> labels, ReadOnlySpan<double> probabilities)
    {
        var value = Compute(labels, probabilities);
        return GreaterIsBetter ? value : -value;
    }

    public override string ToString() => Name;
}
