using System.Globalization;

namespace Flotilla.Tuning.Pruning;

/// <summary>
/// Asynchronous successive halving (Optuna's SuccessiveHalvingPruner: minimum resource 1 fold, reduction factor 3):
/// rungs sit after 1, 3, 9 … folds (those before the last fold). At a rung a trial goes on only if its running mean
/// is within the top third of the running means of every trial that reached the rung, itself included; with fewer
/// than three there, it must be the best of them.
/// </summary>
internal sealed class SuccessiveHalvingPruner(int reductionFactor = 3) : Pruner
{
    public override string? ShouldStop(int folds, int totalFolds, double runningMean, IReadOnlyList<TrialRecord> peers)
    {
        if (folds >= totalFolds || !IsRung(folds) || !WarmedUp(peers))
        {
            return null;
        }

        var competing = MeansAt(folds, peers);
        competing.Add(runningMean);
        competing.Sort();
        var promotable = Math.Max((competing.Count / reductionFactor) - 1, 0);
        var bar = competing[competing.Count - 1 - promotable];
        return runningMean < bar
            ? string.Create(CultureInfo.InvariantCulture, $"successive halving: running mean {runningMean:0.####} after fold {folds} is not in the top 1/{reductionFactor} of {competing.Count} trials at that rung (needs {bar:0.####})")
            : null;
    }

    private bool IsRung(int folds)
    {
        for (var rung = 1; rung <= folds; rung *= reductionFactor)
        {
            if (rung == folds)
            {
                return true;
            }
        }

        return false;
    }
}
