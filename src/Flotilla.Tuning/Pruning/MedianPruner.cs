using System.Globalization;

namespace Flotilla.Tuning.Pruning;

/// <summary>
/// Optuna's median pruner with folds as steps: after fold k (never the last one, which would save nothing) a
/// trial stops when its running mean is below the median of the running means its peers had at fold k. Every
/// trial is scored on the same folds (the split is seeded once per run), so the comparison is like for like.
/// </summary>
internal sealed class MedianPruner : Pruner
{
    public override string? ShouldStop(int folds, int totalFolds, double runningMean, IReadOnlyList<TrialRecord> peers)
    {
        if (folds >= totalFolds || !WarmedUp(peers))
        {
            return null;
        }

        var means = MeansAt(folds, peers);
        if (means.Count == 0)
        {
            return null;
        }

        means.Sort();
        var median = means.Count % 2 == 1 ? means[means.Count / 2] : 0.5 * (means[(means.Count / 2) - 1] + means[means.Count / 2]);
        return runningMean < median
            ? string.Create(CultureInfo.InvariantCulture, $"median pruner: running mean {runningMean:0.####} after fold {folds} is below the median {median:0.####} of {means.Count} earlier trials")
            : null;
    }
}
