using Flotilla.Fleet.Hosting;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Evaluation;
using Orleans.Concurrency;

namespace Flotilla.Fleet.Trials;

/// <summary>
/// Reentrant: every trial sent to this silo runs at once, each on a thread of its own (the caller holds to this silo's
/// cores); the grain's own turns only fetch the data and await.
/// </summary>
[SiloTargetedPlacement, Reentrant]
internal sealed class TrialWorkerGrain(IGrainContext context, TrialDataCache cache) : IGrainBase, ITrialWorkerGrain
{
    public IGrainContext GrainContext => context;

    public Task<int> GetCoresAsync() => Task.FromResult(Environment.ProcessorCount);

    public async Task<RemoteTrialOutcome> RunAsync(TrialDataRef data, RemoteTrial trial, IFoldObserver folds, CancellationToken cancellationToken)
    {
        var train = await cache.GetAsync(data, cancellationToken);
        var request = trial.ToRequest();
        // The fold callback is synchronous inside the learner's loop, so it waits there for the caller's answer (one
        // round trip per fold, against folds of tens of milliseconds). The trial gets a thread of its own: blocked on
        // the thread pool, it would hold back the very threads that bring the answer in (on a silo held to one core
        // the pool starts with one).
        var result = await Task.Factory.StartNew(
            () => CrossValidation.Run(AlgorithmCatalog.Get(request.Algorithm), request.Parameters,
                CrossValidation.Prepare(train, request.Folds, request.Seed), Scorer.Parse(request.Scorer),
                (fold, score) => folds.OnFoldAsync(fold, score).GetAwaiter().GetResult(), cancellationToken),
            cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        return new RemoteTrialOutcome(result.FoldScores, result.Stopped, result.OutOfFold);
    }
}
