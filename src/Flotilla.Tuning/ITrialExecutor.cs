using Flotilla.Learning.Algorithms;

namespace Flotilla.Tuning;

/// <summary>One trial to run: a family, its hyper-parameters and the cross-validation to score it with.</summary>
public sealed record TrialRequest(int Number, string Algorithm, HyperParameters Parameters, int Folds, string Scorer, int Seed);

/// <summary>Called after each fold with its index and score; returning false stops the trial (it was pruned).</summary>
public delegate bool FoldCallback(int foldIndex, double foldScore);

/// <summary>
/// The fold scores a trial produced, whether the fold callback stopped it before the last fold, and the
/// out-of-fold P(positive) per training row when the executor has them (the best trial's choose the decision threshold).
/// </summary>
public sealed record TrialOutcome(IReadOnlyList<double> FoldScores, bool Stopped, IReadOnlyList<double>? OutOfFold = null);

/// <summary>
/// The seam where trials run (a real seam: a second executor, on the fleet, is planned): in this process (<see cref="InProcessTrialExecutor"/>)
/// or, later, on the silos of the fleet. The tuner owns proposals, pruning decisions and bookkeeping; an executor
/// only fits and scores, reporting each fold as it ends.
/// </summary>
public interface ITrialExecutor
{
    /// <summary>How many trials this executor can usefully run at once; the tuner caps the requested parallelism with it.</summary>
    int Capacity { get; }

    /// <summary>Runs one trial. Throws when the trial cannot be fitted (the tuner records it as failed and goes on).</summary>
    Task<TrialOutcome> RunAsync(TrialRequest trial, FoldCallback onFold, CancellationToken cancellationToken);
}
