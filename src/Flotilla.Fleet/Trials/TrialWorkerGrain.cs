using Flotilla.Fleet.Hosting;
using Flotilla.Tuning;
using Orleans.Concurrency;
using Orleans.GrainDirectory;

namespace Flotilla.Fleet.Trials;

/// <summary>
/// Reentrant: every trial sent to this silo runs at once, each on a thread of its own (the caller holds to this silo's
/// cores); the grain's own turns only fetch the data and await.
/// </summary>
[SiloTargetedPlacement, GrainDirectory(PinnedGrainDirectory.Name), Reentrant]
internal sealed class TrialWorkerGrain(IGrainContext context, TrialDataCache cache) : IGrainBase, ITrialWorkerGrain
{
    public IGrainContext GrainContext => context;

    public Task<int> GetCoresAsync() => Task.FromResult(Environment.ProcessorCount);

    public async Task<RemoteTrialOutcome> RunAsync(TrialDataRef data, RemoteTrial trial, IFoldObserver folds, CancellationToken cancellationToken)
    {
        var train = await cache.GetAsync(data, cancellationToken);
        var request = trial.ToRequest();
        var reports = new PipelinedFoldReports(folds, request.Folds);
        // The fold callback is synchronous inside the learner's loop and may wait there for an answer. The in-process
        // executor gives the trial a thread of its own: blocked on the thread pool, it would hold back the very threads
        // that bring the answer in (on a silo held to one core the pool starts with one).
        var outcome = await new InProcessTrialExecutor(train).RunAsync(request, reports.Report, cancellationToken);
        return reports.Outcome(outcome);
    }

    /// <summary>
    /// The worker's side of the fold reports, pipelined: a fold's report is sent without waiting, and its answer is
    /// awaited only once the next fold is computed (by then it has long arrived), so a trial waits on no round trip
    /// of its own — and on a silo held to a CPU quota a round trip can wait for the caller's next quota period. The
    /// caller sees exactly the reports it would have seen one by one: a fold is reported only after the previous one
    /// was answered "go on", and a fold computed after a "stop" is dropped from the outcome, so the trial reads as if
    /// it had stopped where the tuner said. The last fold is not sent on its own: no answer to it could stop a trial
    /// with no fold left, so it travels with the outcome and the caller reports it from there.
    /// </summary>
    private sealed class PipelinedFoldReports(IFoldObserver observer, int folds)
    {
        private Task<bool>? _pending;
        private int? _stoppedAfter;

        public bool Report(int fold, double score)
        {
            if (_pending is { } previous)
            {
                _pending = null;
                if (!previous.GetAwaiter().GetResult())
                {
                    _stoppedAfter = fold - 1;
                    return false;
                }
            }

            if (fold < folds - 1)
            {
                _pending = observer.OnFoldAsync(fold, score);
            }
            return true;
        }

        public RemoteTrialOutcome Outcome(TrialOutcome result) =>
            _stoppedAfter is { } last
                ? new RemoteTrialOutcome([.. result.FoldScores.Take(last + 1)], Stopped: true, OutOfFold: null)
                : new RemoteTrialOutcome(result.FoldScores, result.Stopped, result.OutOfFold);
    }
}
