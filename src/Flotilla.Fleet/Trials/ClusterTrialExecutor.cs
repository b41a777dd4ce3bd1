using Flotilla.Learning.Data;
using Flotilla.Tuning;
using Microsoft.Extensions.Logging;

namespace Flotilla.Fleet.Trials;

/// <summary>
/// One tuning run's trials spread over the silos it started with: a slot per core on each, this silo's taken first
/// (its trials run in process on the run's own table), then the silo with the most free slots. A silo lost while
/// it runs a trial (it died, left, or its call broke) gives up its slots and the trial runs again elsewhere from
/// the start; the folds it had reported are answered as before (<see cref="FoldReplay"/>: a trial's folds score the
/// same on every silo, same bytes and seed), so the tuner's pruning sees the trial as if it had run once.
/// </summary>
internal sealed partial class ClusterTrialExecutor : ITrialExecutor
{
    private readonly IGrainFactory _grains;
    private readonly IClusterMembershipService _membership;
    private readonly SiloAddress _self;
    private readonly InProcessTrialExecutor _local;
    private readonly TrialDataRef? _data;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<SiloAddress, int> _free;
    private readonly IReadOnlyDictionary<SiloAddress, int> _slots;
    private readonly IReadOnlyDictionary<SiloAddress, string> _leftOut;
    private readonly Dictionary<SiloAddress, string> _lost = [];
    private TaskCompletionSource? _released;

    /// <summary>
    /// <paramref name="slots"/>: the cores of every silo that takes part, this one first; <paramref name="leftOut"/>:
    /// the silos that take none, with why (they did not say their cores in time), named in <see cref="Workers"/>.
    /// </summary>
    public ClusterTrialExecutor(
        IGrainFactory grains, IClusterMembershipService membership, SiloAddress self, Table train, TrialDataRef? data,
        IReadOnlyDictionary<SiloAddress, int> slots, IReadOnlyDictionary<SiloAddress, string> leftOut, ILogger logger)
    {
        _grains = grains;
        _membership = membership;
        _self = self;
        _local = new InProcessTrialExecutor(train, self.ToString());
        _data = data;
        _logger = logger;
        _free = new Dictionary<SiloAddress, int>(slots);
        _slots = slots;
        _leftOut = leftOut;
        Capacity = slots.Values.Sum();
    }

    /// <summary>Slots at the start of the run: the cores of every silo that answered.</summary>
    public int Capacity { get; }

    public IReadOnlyList<TrialWorker> Workers
    {
        get
        {
            lock (_lock)
            {
                return
                [
                    .. _slots.Select(s => new TrialWorker(s.Key.ToString(), s.Value, Lost: _lost.GetValueOrDefault(s.Key))),
                    .. _leftOut.Select(s => new TrialWorker(s.Key.ToString(), 0, LeftOut: s.Value)),
                ];
            }
        }
    }

    /// <summary>The silos still taking this run's trials.</summary>
    internal IReadOnlyList<SiloAddress> Silos
    {
        get
        {
            lock (_lock)
            {
                return [.. _free.Keys];
            }
        }
    }

    public async Task<TrialOutcome> RunAsync(TrialRequest trial, FoldCallback onFold, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(trial);
        ArgumentNullException.ThrowIfNull(onFold);
        var folds = new FoldReplay(onFold);
        while (true)
        {
            var silo = await AcquireAsync(cancellationToken);
            try
            {
                return silo.Equals(_self)
                    ? await _local.RunAsync(trial, folds.Report, cancellationToken)
                    : await RunRemoteAsync(silo, trial, folds.Report, cancellationToken);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && !silo.Equals(_self) && Lost(silo, e))
            {
                LogSiloLost(trial.Number, silo.ToString(), e.GetType().Name, e.Message);
                lock (_lock)
                {
                    _free.Remove(silo);
                    _lost.TryAdd(silo, $"lost during trial {trial.Number} ({e.GetType().Name}); its trials ran again elsewhere");
                }
            }
            finally
            {
                Release(silo);
            }
        }
    }

    private async Task<TrialOutcome> RunRemoteAsync(SiloAddress silo, TrialRequest trial, FoldCallback report, CancellationToken cancellationToken)
    {
        // The runtime holds an observer weakly: the relay must stay reachable from here until the call ends, or a
        // collection in between leaves the worker's fold reports unanswered.
        var relay = new FoldRelay(report);
        var observer = _grains.CreateObjectReference<IFoldObserver>(relay);
        try
        {
            var outcome = await _grains.GetGrain<ITrialWorkerGrain>(silo.ToParsableString())
                .RunAsync(_data!, RemoteTrial.From(trial), observer, cancellationToken);
            if (!outcome.Stopped && outcome.FoldScores.Count == trial.Folds)
            {
                // The worker sends the last fold with the outcome rather than on its own (its answer stops nothing).
                report(trial.Folds - 1, outcome.FoldScores[^1]);
            }
            return new TrialOutcome(outcome.FoldScores, outcome.Stopped, outcome.OutOfFold, silo.ToString());
        }
        finally
        {
            _grains.DeleteObjectReference<IFoldObserver>(observer);
            GC.KeepAlive(relay);
        }
    }

    /// <summary>
    /// Whether the call failed because the silo went away rather than because the trial failed there: the
    /// runtime's own signs, a cancellation the run did not ask for (the silo shutting down), or the silo no
    /// longer being an active member. A trial that fails on a healthy silo fails as it would in process.
    /// </summary>
    private bool Lost(SiloAddress silo, Exception e) =>
        e is SiloUnavailableException or OrleansMessageRejectionException or TimeoutException or OperationCanceledException
        || _membership.CurrentSnapshot.GetSiloStatus(silo) != SiloStatus.Active;

    private async Task<SiloAddress> AcquireAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task released;
            lock (_lock)
            {
                if (_free.GetValueOrDefault(_self) > 0)
                {
                    _free[_self]--;
                    return _self;
                }

                var best = _free.Where(s => s.Value > 0).OrderByDescending(s => s.Value).Select(s => s.Key).FirstOrDefault();
                if (best is not null)
                {
                    _free[best]--;
                    return best;
                }

                released = (_released ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }

            await released.WaitAsync(cancellationToken);
        }
    }

    private void Release(SiloAddress silo)
    {
        TaskCompletionSource? released;
        lock (_lock)
        {
            if (_free.TryGetValue(silo, out var free))
            {
                _free[silo] = free + 1;
            }
            released = _released;
            _released = null;
        }
        released?.TrySetResult();
    }

    private sealed class FoldRelay(FoldCallback report) : IFoldObserver
    {
        public Task<bool> OnFoldAsync(int fold, double score) => Task.FromResult(report(fold, score));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Trial {Trial} lost silo {Silo} ({ErrorType}: {Error}); it runs again on another silo")]
    private partial void LogSiloLost(int trial, string silo, string errorType, string error);
}
