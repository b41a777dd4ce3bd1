using Flotilla.Learning.Algorithms;

namespace Flotilla.Tuning;

public enum TrialStatus { Complete, Pruned, Failed }

/// <summary>
/// One trial as it ended. <see cref="Mean"/> is the mean of <see cref="FoldScores"/> (for a pruned trial, of the
/// folds it ran); null when the trial failed before any fold. <see cref="Reason"/> says why a trial was pruned or
/// failed. <see cref="Worker"/> names where it ran when the executor has several workers (a silo of the fleet).
/// </summary>
public sealed record TrialRecord(
    int Number,
    string Algorithm,
    HyperParameters Parameters,
    IReadOnlyList<double> FoldScores,
    double? Mean,
    TrialStatus Status,
    string? Reason,
    double Seconds,
    string? Worker = null)
{
    /// <summary>Mean of the first <paramref name="folds"/> fold scores: what pruners compare at a rung.</summary>
    internal double RunningMean(int folds)
    {
        var sum = 0.0;
        for (var i = 0; i < folds; i++)
        {
            sum += FoldScores[i];
        }

        return sum / folds;
    }
}

/// <summary>
/// What a run produced: every trial ordered by number (resumed ones included), the best complete trial (highest
/// mean, the lowest number on a tie), the parallelism actually used and the wall time of this run.
/// <see cref="PerfectScoreReached"/> says the run ended before MaxTrials because a trial reached the scorer's best
/// possible score (AUC 1 on every fold), which no later trial could beat. <see cref="BestOutOfFold"/> is the best
/// trial's out-of-fold P(positive) per training row, null when that trial was resumed from an earlier run (only
/// its scores were kept) or its executor returned none.
/// </summary>
public sealed record TuningResult(
    IReadOnlyList<TrialRecord> Trials,
    TrialRecord Best,
    int RequestedParallelism,
    int EffectiveParallelism,
    TimeSpan WallTime,
    bool BudgetExhausted,
    bool PerfectScoreReached = false,
    IReadOnlyList<double>? BestOutOfFold = null)
{
    /// <summary>
    /// Out-of-fold predictions of the best complete trials of this run, best first: up to
    /// <see cref="TuningOptions.KeepOutOfFold"/> of them within a memory bound. Resumed trials have none.
    /// </summary>
    public IReadOnlyList<KeptOutOfFold> OutOfFold { get; init; } = [];

    /// <summary>How the wall-clock budget was spent; null for a run without one.</summary>
    public BudgetSpending? Budget { get; init; }

    public int Pruned => Trials.Count(t => t.Status == TrialStatus.Pruned);
    public int Failed => Trials.Count(t => t.Status == TrialStatus.Failed);
}

/// <summary>Progress of a run, raised one at a time in the order things happened.</summary>
public abstract record TuningEvent;

public sealed record TrialStarted(int Number, string Algorithm, HyperParameters Parameters) : TuningEvent;

/// <summary>A trial ended. A caller that persists trials (to resume after a crash) does it on this event.</summary>
public sealed record TrialFinished(TrialRecord Trial, int Finished, int Planned) : TuningEvent;

/// <summary>A complete trial beat every earlier one.</summary>
public sealed record BestSoFar(TrialRecord Trial) : TuningEvent;

/// <summary>The run ended without a single complete trial.</summary>
public sealed class TuningFailedException(string message) : Exception(message);
