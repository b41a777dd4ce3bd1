using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;

namespace Flotilla.Tuning;

/// <summary>
/// Runs trials on this machine's cores: the learning core's cross-validation on folds prepared once per
/// (table, folds, seed) and shared by every trial. Learners run single-threaded (a default-threaded LightGBM
/// fit went from 17 ms to seconds under contention: docs/decisions.md), so
/// one trial keeps one core busy and the useful capacity is the number of cores. <paramref name="worker"/> names
/// this process in each outcome when it is one worker of several (a silo running its share of a cluster's trials).
/// </summary>
public sealed class InProcessTrialExecutor(Table train, string? worker = null) : ITrialExecutor
{
    public int Capacity => Environment.ProcessorCount;

    public IReadOnlyList<TrialWorker> Workers => worker is null ? [] : [new TrialWorker(worker, Capacity)];

    public Task<TrialOutcome> RunAsync(TrialRequest trial, FoldCallback onFold, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(trial);
        ArgumentNullException.ThrowIfNull(onFold);
        // A trial holds its core for its whole length: on a thread of its own, not one of the pool's, which would
        // otherwise be left to the trials alone — the calls that hand trials to other silos, and a server's
        // requests, would wait for the pool to grow (it adds a thread about every half second when starved).
        return Task.Factory.StartNew(() =>
        {
            var algorithm = AlgorithmCatalog.Get(trial.Algorithm);
            var folds = CrossValidation.Prepare(train, trial.Folds, trial.Seed);
            var result = CrossValidation.Run(algorithm, trial.Parameters, folds, Scorer.Parse(trial.Scorer), (i, s) => onFold(i, s), cancellationToken);
            return new TrialOutcome(result.FoldScores, result.Stopped, result.OutOfFold, worker);
        }, cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }
}
