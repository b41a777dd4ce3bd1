using Flotilla.Learning.Algorithms;

namespace Flotilla.Tuning;

/// <summary>One trial to run: a family, its hyper-parameters and the cross-validation to score it with.</summary>
public sealed record TrialRequest(int Number, string Algorithm, HyperParameters Parameters, int Folds, string Scorer, int Seed);

/// <summary>Called after each fold with its index and score; returning false stops the trial (it was pruned).</summary>
public delegate bool FoldCallback(int foldIndex, double foldScore);

/// <summary>
/// The fold scores a trial produced, whether the fold callback stopped it before the last fold, the
/// out-of-fold P(positive) per training row when the executor has them (the best trial's choose the decision threshold),
/// and which worker ran it when the executor has several (a silo of the fleet; null in this process).
/// </summary>
public sealed record TrialOutcome(IReadOnlyList<double> FoldScores, bool Stopped, IReadOnlyList<double>? OutOfFold = null, string? Worker = null);

/// <summary>
/// One worker a tuning run's trials could go to: its name (a fleet silo, as trial records name it), the cores it
/// offered (its trial slots), and, when it took no part, why (<see cref="LeftOut"/>: it did not say its cores in
/// time, so it got no slots), or why it stopped taking part mid-run (<see cref="Lost"/>: it died or left; its trials
/// ran again elsewhere).
/// </summary>
public sealed record TrialWorker(string Name, int Cores, string? LeftOut = null, string? Lost = null);

/// <summary>
/// The seam where trials run: in this process (<see cref="InProcessTrialExecutor"/>) or on every silo of the fleet
/// (the fleet's cluster executor). The tuner owns proposals, pruning decisions and bookkeeping; an executor
/// only fits and scores, reporting each fold as it ends.
/// </summary>
public interface ITrialExecutor
{
    /// <summary>How many trials this executor can usefully run at once; the tuner caps the requested parallelism with it.</summary>
    int Capacity { get; }

    /// <summary>
    /// The workers of this run as they stand now: each named worker with its cores, those left out, and, read after
    /// the run, those lost during it. Empty for an executor that names no workers (this process alone).
    /// </summary>
    IReadOnlyList<TrialWorker> Workers { get; }

    /// <summary>Runs one trial. Throws when the trial cannot be fitted (the tuner records it as failed and goes on).</summary>
    Task<TrialOutcome> RunAsync(TrialRequest trial, FoldCallback onFold, CancellationToken cancellationToken);
}
