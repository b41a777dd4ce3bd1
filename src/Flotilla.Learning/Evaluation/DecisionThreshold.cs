using System.Globalization;

namespace Flotilla.Learning.Evaluation;

/// <summary>
/// How the cut on P(positive) that turns a probability into a label is chosen: the cut that maximises F1, or
/// balanced accuracy, or Youden's J on labelled out-of-fold probabilities, or a fixed number in (0, 1). J is
/// TPR − FPR = 2 × balanced accuracy − 1, so <c>youden</c> and <c>balanced_accuracy</c> pick the same cut; both
/// names are kept because users know both.
/// </summary>
public sealed record DecisionThreshold
{
    private DecisionThreshold(string rule, double? fixedValue)
    {
        Rule = rule;
        Fixed = fixedValue;
    }

    /// <summary>The cut a model without a chosen one uses (every artifact written before thresholds were chosen).</summary>
    public const double Default = 0.5;

    public static IReadOnlyList<string> RuleNames { get; } = ["f1", "balanced_accuracy", "youden"];

    public static DecisionThreshold F1 { get; } = new("f1", null);

    /// <summary><c>f1</c>, <c>balanced_accuracy</c>, <c>youden</c>, or the number itself.</summary>
    public string Rule { get; }

    /// <summary>The cut when the rule is a number; null when it is chosen from data.</summary>
    public double? Fixed { get; }

    /// <summary>A rule by name (case-insensitive) or a number strictly between 0 and 1 (invariant culture).</summary>
    public static DecisionThreshold Parse(string text)
    {
        var key = text?.Trim().ToLowerInvariant() ?? "";
        if (RuleNames.Contains(key))
        {
            return new DecisionThreshold(key, null);
        }
        if (double.TryParse(key, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            return value is > 0 and < 1
                ? new DecisionThreshold(value.ToString("R", CultureInfo.InvariantCulture), value)
                : throw new ArgumentException($"A fixed decision threshold must be strictly between 0 and 1 (was {text}).", nameof(text));
        }
        throw new ArgumentException(
            $"Unknown decision threshold '{text}': use {string.Join(", ", RuleNames)} or a number strictly between 0 and 1.", nameof(text));
    }

    /// <summary>
    /// The cut for these labels and probabilities: the fixed number, or the one that maximises the rule's
    /// metric for "positive when P ≥ cut" (ties go to the cut nearest 0.5). The cut lies halfway between the
    /// lowest probability called positive and the next lower one, so rows scored alike later fall on the same side.
    /// <see cref="Default"/> when one class is absent or every probability is the same. NaN probabilities are skipped.
    /// </summary>
    public double Choose(ReadOnlySpan<bool> labels, ReadOnlySpan<double> probabilities)
    {
        if (Fixed is { } value)
        {
            return value;
        }
        if (labels.Length != probabilities.Length)
        {
            throw new ArgumentException($"{labels.Length} labels for {probabilities.Length} probabilities.", nameof(probabilities));
        }

        var rows = new List<int>(labels.Length);
        int positives = 0, negatives = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            if (!double.IsNaN(probabilities[i]))
            {
                rows.Add(i);
                if (labels[i])
                {
                    positives++;
                }
                else
                {
                    negatives++;
                }
            }
        }
        if (positives == 0 || negatives == 0)
        {
            return Default;
        }

        var scores = probabilities.ToArray();
        rows.Sort((a, b) => scores[b].CompareTo(scores[a]));
        var best = double.NegativeInfinity;
        var cut = Default;
        int tp = 0, fp = 0;
        for (var k = 0; k < rows.Count; k++)
        {
            if (labels[rows[k]])
            {
                tp++;
            }
            else
            {
                fp++;
            }
            var score = scores[rows[k]];
            if (k + 1 < rows.Count && scores[rows[k + 1]] == score)
            {
                continue;
            }
            if (k + 1 == rows.Count)
            {
                // Everything positive: no cut separates anything, and a model that calls every row positive is no choice.
                break;
            }

            var candidate = (score + scores[rows[k + 1]]) / 2;
            var metric = Rule == "f1"
                ? 2.0 * tp / (2.0 * tp + fp + (positives - tp))
                : ((double)tp / positives + (double)(negatives - fp) / negatives) / 2;
            if (metric > best || (metric == best && Math.Abs(candidate - Default) < Math.Abs(cut - Default)))
            {
                best = metric;
                cut = candidate;
            }
        }
        return cut;
    }

    public override string ToString() => Rule;
}
