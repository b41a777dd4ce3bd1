namespace Flotilla.Learning.Evaluation;

/// <summary>Binary classification metrics on labels and P(positive), matching scikit-learn's definitions.</summary>
public static class Metrics
{
    public static ConfusionMatrix Confusion(ReadOnlySpan<bool> labels, ReadOnlySpan<double> probabilities, double threshold = 0.5)
    {
        int tp = 0, fp = 0, tn = 0, fn = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            var predicted = probabilities[i] >= threshold;
            (tp, fp, tn, fn) = (labels[i], predicted) switch
            {
                (true, true) => (tp + 1, fp, tn, fn),
                (false, true) => (tp, fp + 1, tn, fn),
                (false, false) => (tp, fp, tn + 1, fn),
                (true, false) => (tp, fp, tn, fn + 1),
            };
        }

        return new ConfusionMatrix(tp, fp, tn, fn);
    }

    /// <summary>
    /// Area under the ROC curve by the trapezoid rule over distinct thresholds, so tied scores count half
    /// (the Mann–Whitney statistic). 0.5 when one class is absent.
    /// </summary>
    public static double RocAuc(ReadOnlySpan<bool> labels, ReadOnlySpan<double> scores)
    {
        var points = Thresholds(labels, scores);
        var (positives, negatives) = Counts(labels);
        if (positives == 0 || negatives == 0)
        {
            return 0.5;
        }

        double area = 0, previousFp = 0, previousTp = 0;
        foreach (var (_, tp, fp) in points)
        {
            area += (fp - previousFp) * (tp + previousTp) / 2;
            (previousFp, previousTp) = (fp, tp);
        }

        return area / ((double)positives * negatives);
    }

    /// <summary>Average precision: Σ (Rₙ − Rₙ₋₁) Pₙ over distinct thresholds, high to low.</summary>
    public static double AveragePrecision(ReadOnlySpan<bool> labels, ReadOnlySpan<double> scores)
    {
        var (positives, _) = Counts(labels);
        if (positives == 0)
        {
            return 0;
        }

        double ap = 0, previousRecall = 0;
        foreach (var (_, tp, fp) in Thresholds(labels, scores))
        {
            var recall = tp / (double)positives;
            var precision = tp + fp == 0 ? 1 : tp / (double)(tp + fp);
            ap += (recall - previousRecall) * precision;
            previousRecall = recall;
        }

        return ap;
    }

    public static double LogLoss(ReadOnlySpan<bool> labels, ReadOnlySpan<double> probabilities)
    {
        double loss = 0;
        for (var i = 0; i < labels.Length; i++)
        {
            var p = Math.Clamp(probabilities[i], 1e-15, 1 - 1e-15);
            loss -= labels[i] ? Math.Log(p) : Math.Log(1 - p);
        }

        return labels.Length == 0 ? 0 : loss / labels.Length;
    }

    /// <summary>ROC points (FPR, TPR) at every distinct threshold, from (0, 0) up, at most <paramref name="maxPoints"/>.</summary>
    public static IReadOnlyList<RocPoint> RocCurve(ReadOnlySpan<bool> labels, ReadOnlySpan<double> scores, int maxPoints = 1000)
    {
        var (positives, negatives) = Counts(labels);
        var points = new List<RocPoint> { new(0, 0, null) };
        foreach (var (threshold, tp, fp) in Thresholds(labels, scores))
        {
            points.Add(new RocPoint(negatives == 0 ? 0 : fp / (double)negatives, positives == 0 ? 0 : tp / (double)positives, threshold));
        }

        return Thin(points, maxPoints);
    }

    /// <summary>Precision–recall points at every distinct threshold, from (recall 0, precision 1) up.</summary>
    public static IReadOnlyList<PrecisionRecallPoint> PrecisionRecallCurve(ReadOnlySpan<bool> labels, ReadOnlySpan<double> scores, int maxPoints = 1000)
    {
        var (positives, _) = Counts(labels);
        var points = new List<PrecisionRecallPoint> { new(0, 1, null) };
        foreach (var (threshold, tp, fp) in Thresholds(labels, scores))
        {
            points.Add(new PrecisionRecallPoint(positives == 0 ? 0 : tp / (double)positives, tp + fp == 0 ? 1 : tp / (double)(tp + fp), threshold));
        }

        return Thin(points, maxPoints);
    }

    /// <summary>Cumulative (TP, FP) after taking every row scored ≥ each distinct threshold, high to low.</summary>
    private static List<(double Threshold, int Tp, int Fp)> Thresholds(ReadOnlySpan<bool> labels, ReadOnlySpan<double> scores)
    {
        if (labels.Length != scores.Length)
        {
            throw new ArgumentException($"{labels.Length} labels but {scores.Length} scores.");
        }

        var order = new int[scores.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        var keys = scores.ToArray();
        Array.Sort(keys, order);
        var result = new List<(double, int, int)>();
        int tp = 0, fp = 0;
        for (var k = order.Length - 1; k >= 0; k--)
        {
            if (labels[order[k]])
            {
                tp++;
            }
            else
            {
                fp++;
            }

            if (k == 0 || keys[k - 1] != keys[k])
            {
                result.Add((keys[k], tp, fp));
            }
        }

        return result;
    }

    private static (int Positives, int Negatives) Counts(ReadOnlySpan<bool> labels)
    {
        var positives = 0;
        foreach (var l in labels)
        {
            positives += l ? 1 : 0;
        }

        return (positives, labels.Length - positives);
    }

    // Keeps the first and last point and evenly spaced ones between, so a curve never exceeds maxPoints.
    private static IReadOnlyList<T> Thin<T>(List<T> points, int maxPoints)
    {
        if (points.Count <= maxPoints)
        {
            return points;
        }

        var thinned = new List<T>(maxPoints);
        for (var i = 0; i < maxPoints; i++)
        {
            thinned.Add(points[(int)Math.Round(i * (points.Count - 1) / (double)(maxPoints - 1))]);
        }

        return thinned;
    }
}
