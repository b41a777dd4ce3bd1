namespace Flotilla.Tuning.Pruning;

/// <summary>
/// Decides after each fold whether a trial goes on. A pruner only compares against the trials it is given (the
/// same visible history the trial's proposal saw), so its decisions are as reproducible as the proposals.
/// </summary>
internal abstract class Pruner
{
    /// <summary>Trials that must be complete in the visible history before anything is pruned.</summary>
    public const int StartupTrials = 5;

    /// <summary>The reason to stop after <paramref name="folds"/> folds with this running mean, or null to go on.</summary>
    public abstract string? ShouldStop(int folds, int totalFolds, double runningMean, IReadOnlyList<TrialRecord> peers);

    public static Pruner? Create(PruningMode mode) => mode switch
    {
        PruningMode.None => null,
        PruningMode.Median => new MedianPruner(),
        PruningMode.SuccessiveHalving => new SuccessiveHalvingPruner(),
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown pruning mode."),
    };

    /// <summary>Running means at fold <paramref name="folds"/> of the peers that got that far (complete or pruned).</summary>
    protected static List<double> MeansAt(int folds, IReadOnlyList<TrialRecord> peers) =>
        [.. peers.Where(t => t.Status != TrialStatus.Failed && t.FoldScores.Count >= folds).Select(t => t.RunningMean(folds))];

    protected static bool WarmedUp(IReadOnlyList<TrialRecord> peers) =>
        peers.Count(t => t.Status == TrialStatus.Complete) >= StartupTrials;
}
