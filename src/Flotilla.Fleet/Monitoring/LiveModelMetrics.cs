using Flotilla.Learning.Evaluation;

namespace Flotilla.Fleet.Monitoring;

/// <summary>
/// Live quality of the versions a group serves, from the true labels fed back for their predictions — the seam a
/// rollout's canary comparison reads (for example: promote only if the canary's live AUC is not below the
/// primary's). Null metrics mean no labelled predictions in the window yet.
/// </summary>
public interface ILiveModelMetrics
{
    /// <summary>Live metrics of one version of <paramref name="group"/> over <see cref="MonitoringOptions.FeedbackWindow"/>; null when the group has no such version.</summary>
    Task<LiveVersionMetrics?> GetAsync(string group, int version, CancellationToken cancellationToken);

    /// <summary>Live metrics of every version of <paramref name="group"/> that was called or labelled, newest version first.</summary>
    Task<IReadOnlyList<LiveVersionMetrics>> GetAllAsync(string group, CancellationToken cancellationToken);
}

/// <summary>
/// One version's live numbers: rows scored (since the silos started), labelled rows in the window, and over those
/// AUC, accuracy (at the model's decision threshold), the Brier score and a ten-bin reliability curve.
/// </summary>
public sealed record LiveVersionMetrics(
    int Version,
    string PackageId,
    string ArtifactSha256,
    long Calls,
    int Labelled,
    int Positives,
    double? Auc,
    double? Accuracy,
    double? Brier,
    IReadOnlyList<ReliabilityBin> Reliability)
{
    public static LiveVersionMetrics From(int version, string packageId, string artifactSha256, long calls, IReadOnlyList<LabelledOutcome> outcomes)
    {
        if (outcomes.Count == 0)
        {
            return new LiveVersionMetrics(version, packageId, artifactSha256, calls, 0, 0, null, null, null, []);
        }
        // The evaluator's own functions, so the same rows give the same AUC as at registration.
        var labels = outcomes.Select(o => o.ActualPositive).ToArray();
        var scores = outcomes.Select(o => o.Positive).ToArray();
        var positives = labels.Count(l => l);
        var auc = positives == 0 || positives == labels.Length ? (double?)null : Metrics.RocAuc(labels, scores);
        var accuracy = outcomes.Count(o => o.PredictedPositive == o.ActualPositive) / (double)outcomes.Count;
        var brier = outcomes.Average(o => Math.Pow(o.Positive - (o.ActualPositive ? 1 : 0), 2));
        var bins = new List<ReliabilityBin>();
        for (var b = 0; b < TrainingProfile.ScoreBins; b++)
        {
            var inBin = outcomes.Where(o => TrainingProfile.ScoreSlot(o.Positive) == b).ToList();
            if (inBin.Count > 0)
            {
                bins.Add(new ReliabilityBin(
                    b / (double)TrainingProfile.ScoreBins, (b + 1) / (double)TrainingProfile.ScoreBins, inBin.Count,
                    inBin.Average(o => o.Positive), inBin.Count(o => o.ActualPositive) / (double)inBin.Count));
            }
        }
        return new LiveVersionMetrics(version, packageId, artifactSha256, calls, outcomes.Count, positives, auc, accuracy, brier, bins);
    }
}

/// <summary>Predictions with P(positive) in [From, To): how many, their mean P(positive), and the share that were positive.</summary>
public sealed record ReliabilityBin(double From, double To, int Count, double MeanPredicted, double ObservedPositive);
