using System.Collections.Concurrent;
using System.Globalization;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;
using Flotilla.Tuning.Pruning;
using Flotilla.Tuning.Sampling;

namespace Flotilla.Tuning;

/// <summary>
/// Runs a joint search over the selected algorithm families: proposes trials (Random, TPE or Grid), runs up to
/// the effective parallelism of them at once through an <see cref="ITrialExecutor"/>, prunes between folds, and
/// records every trial.
/// <para>
/// <b>Reproducibility with parallel trials.</b> A proposal and the pruning decisions of trial <c>n</c> see only
/// the trials numbered <c>n - P</c> or lower, where <c>P</c> is the <i>requested</i> <see cref="TuningOptions.MaxParallelTrials"/>,
/// and trial <c>n</c> does not start before all of those have finished. Its randomness comes from a stream seeded by
/// (seed, n) alone. So which trials a proposal sees never depends on which trial happened to finish first, nor on
/// the number of cores: the same seed gives the same proposals, the same pruning and the same best trial, whether
/// the trials run one at a time or six at once. The price is a history up to P - 1 trials staler than a sequential
/// search would use, and a slot may wait for a slow trial numbered <c>n - P</c>; both are small when the effective
/// parallelism is below P. Only a wall-clock budget (or a stop) can make two runs differ: it ends them at
/// different trials.
/// </para>
/// </summary>
public sealed class Tuner(TimeProvider timeProvider)
{
    public Tuner() : this(TimeProvider.System) { }

    /// <summary>
    /// Tunes on <paramref name="train"/>, in this process unless another <paramref name="executor"/> is given.
    /// <paramref name="onEvent"/> is awaited for each event, in order: persisting each <see cref="TrialFinished"/>
    /// there, and passing those trials back as <see cref="TuningOptions.Completed"/>, resumes an interrupted run.
    /// </summary>
    public Task<TuningResult> RunAsync(
        Table train,
        TuningOptions options,
        ITrialExecutor? executor = null,
        Func<TuningEvent, CancellationToken, ValueTask>? onEvent = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        return RunAsync(executor ?? new InProcessTrialExecutor(train), options, onEvent, cancellationToken);
    }

    /// <summary>Tunes on <paramref name="executor"/>'s data; <paramref name="onEvent"/> is awaited for each event, in order.</summary>
    public async Task<TuningResult> RunAsync(
        ITrialExecutor executor,
        TuningOptions options,
        Func<TuningEvent, CancellationToken, ValueTask>? onEvent = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(executor);
        options.Validate();
        var spaces = ResolveSpaces(options);
        var sampler = Sampler.Create(options.Strategy, spaces, options.Seed, options.MaxTrials);
        if (options.WallClockBudget is not null && options.Strategy != TuningStrategy.Grid)
        {
            // Only a budgeted run is cost-aware: an unbudgeted one proposes exactly what the strategy alone would.
            sampler = new CostAwareSampler(sampler, spaces, options.Seed, options.Folds);
        }
        var scorer = Scorer.Parse(options.Scorer);
        var run = new Run(timeProvider, executor, options, sampler, Pruner.Create(options.Pruning), BestPossible(scorer), onEvent);
        return await run.ExecuteAsync(cancellationToken);
    }

    /// <summary>
    /// How many trials run at once: the requested <see cref="TuningOptions.MaxParallelTrials"/>, capped by what the
    /// executor can usefully run (in process, the cores). Proposals still follow the requested value.
    /// </summary>
    public static int EffectiveParallelism(TuningOptions options, ITrialExecutor executor)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(executor);
        return Math.Min(options.MaxParallelTrials, Math.Max(1, executor.Capacity));
    }

    internal static IReadOnlyList<SearchSpace> ResolveSpaces(TuningOptions options)
    {
        var overrides = options.SearchSpaces ?? [];
        var names = options.Algorithms ?? (overrides.Count > 0 ? [.. overrides.Select(s => s.Algorithm)] : CatalogNames());
        var spaces = new List<SearchSpace>(names.Count);
        foreach (var name in names.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            var space = overrides.FirstOrDefault(s => string.Equals(s.Algorithm, name, StringComparison.OrdinalIgnoreCase))
                ?? CatalogSpace(name);
            foreach (var spec in space.Parameters)
            {
                ParameterScale.Check(space.Algorithm, spec);
            }

            spaces.Add(space);
        }

        return spaces;
    }

    private static IReadOnlyList<string> CatalogNames() => AlgorithmCatalog.Names;

    private static SearchSpace CatalogSpace(string name) => AlgorithmCatalog.Get(name).Space;

    /// <summary>The highest objective a scorer can give: 1 for the bounded metrics (AUC, accuracy, F1 …), 0 for -log_loss.</summary>
    private static double BestPossible(Scorer scorer) => scorer.GreaterIsBetter ? 1.0 : 0.0;

    private sealed class Run(
        TimeProvider time,
        ITrialExecutor executor,
        TuningOptions options,
        Sampler sampler,
        Pruner? pruner,
        double bestPossible,
        Func<TuningEvent, CancellationToken, ValueTask>? onEvent)
    {
        private readonly TimeProvider _time = time;
        private readonly int _planned = Math.Min(options.MaxTrials, sampler.Size ?? int.MaxValue);
        private readonly int _lag = options.MaxParallelTrials;
        private readonly int _parallelism = EffectiveParallelism(options, executor);
        private readonly SortedDictionary<int, TrialRecord> _finished = new(options.Completed.ToDictionary(t => t.Number));

        // Earlier runs' trials are renumbered below zero: older than every trial of this run, and unique.
        private readonly List<TrialRecord> _warm =
            [.. options.WarmStart.Select((t, i) => t with { Number = i - options.WarmStart.Count })];

        private TrialRecord? _best;

        // Out-of-fold probabilities of complete trials not yet finished by FinishAsync; the best ones' are kept.
        private readonly ConcurrentDictionary<int, IReadOnlyList<double>> _outOfFold = new();
        private readonly OutOfFoldLibrary _library = new(options.KeepOutOfFold);
        private IReadOnlyList<double>? _bestOutOfFold;

        public async Task<TuningResult> ExecuteAsync(CancellationToken cancellationToken)
        {
            var started = _time.GetTimestamp();
            _best = _finished.Values.Where(t => t.Status == TrialStatus.Complete).OrderByDescending(t => t.Mean).ThenBy(t => t.Number).FirstOrDefault();
            var pending = new Queue<int>(Enumerable.Range(0, _planned).Where(n => !_finished.ContainsKey(n)));
            var running = new Dictionary<Task<TrialRecord>, int>();
            var outranked = new Dictionary<int, CancellationTokenSource>();
            using var budget = options.WallClockBudget is { } limit ? new CancellationTokenSource(limit, _time) : new CancellationTokenSource();
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, budget.Token);
            try
            {
                while (true)
                {
                    while (running.Count < _parallelism && pending.Count > 0 && !stop.IsCancellationRequested && !Unbeatable(pending.Peek()) && Ready(pending.Peek()))
                    {
                        var number = pending.Dequeue();
                        var visible = Visible(number);
                        var proposal = sampler.Propose(number, [.. _warm, .. visible], options.WallClockBudget - _time.GetElapsedTime(started));
                        await EmitAsync(new TrialStarted(number, proposal.Algorithm, proposal.Parameters), cancellationToken);
                        var own = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
                        outranked.Add(number, own);
                        var trial = Task.Run(() => RunTrialAsync(number, proposal, visible, budget.Token, stop.Token, own.Token), CancellationToken.None);
                        running.Add(trial, number);
                    }

                    if (running.Count == 0)
                    {
                        break;
                    }

                    var done = await Task.WhenAny(running.Keys);
                    running.Remove(done);
                    var finished = await done;
                    outranked.Remove(finished.Number, out var source);
                    source?.Dispose();
                    await FinishAsync(finished, cancellationToken);
                    if (Perfect)
                    {
                        // A running trial numbered above a perfect one cannot become the best: stop it rather than
                        // wait for it (measured on banknote: a 1.35 s NeuralNet started just before trial #26 scored
                        // AUC 1 held the whole run for that long).
                        foreach (var other in outranked.Where(o => o.Key > _best!.Number).Select(o => o.Value))
                        {
                            await other.CancelAsync();
                        }
                    }
                }
            }
            finally
            {
                if (running.Count > 0)
                {
                    // Leaving early (a stop, or a failing event handler): no trial may outlive the run.
                    await stop.CancelAsync();
                    await Task.WhenAll(running.Keys).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }

                foreach (var source in outranked.Values)
                {
                    source.Dispose();
                }
            }

            cancellationToken.ThrowIfCancellationRequested();
            var trials = _finished.Values.ToList();
            if (_best is null)
            {
                throw new TuningFailedException(NoCompleteTrial(trials, budget.IsCancellationRequested));
            }

            return new TuningResult(trials, _best, options.MaxParallelTrials, _parallelism, _time.GetElapsedTime(started), budget.IsCancellationRequested, Perfect, _bestOutOfFold)
            {
                OutOfFold = _library.Kept,
                Budget = options.WallClockBudget is { } given ? BudgetSpending.Of(given, _time.GetElapsedTime(started), trials, sampler as CostAwareSampler) : null,
            };
        }

        private bool Perfect => _best?.Mean >= bestPossible;

        /// <summary>
        /// A complete trial has the best possible score, so no trial numbered above it can replace it (ties go to the
        /// lower number): those no longer start, and the running ones are stopped (recorded as pruned). The best trial is the same as in a run
        /// of all MaxTrials — trials numbered below it still run (they start in number order, or were resumed) — but
        /// how many trials above it ran depends on what was running when it finished.
        /// </summary>
        private bool Unbeatable(int number) => Perfect && number > _best!.Number;

        /// <summary>Trial <paramref name="number"/> may start once every trial it is allowed to see has finished.</summary>
        private bool Ready(int number)
        {
            for (var n = number - _lag; n >= 0; n--)
            {
                if (!_finished.ContainsKey(n))
                {
                    return false;
                }
            }

            return true;
        }

        private List<TrialRecord> Visible(int number) => [.. _finished.Values.Where(t => t.Number <= number - _lag)];

        private async Task<TrialRecord> RunTrialAsync(int number, Proposal proposal, List<TrialRecord> peers, CancellationToken budget, CancellationToken stop, CancellationToken outranked)
        {
            var started = _time.GetTimestamp();
            var reported = new List<double>(options.Folds);
            string? pruned = null;

            bool OnFold(int foldIndex, double score)
            {
                reported.Add(score);
                if (pruner is null || double.IsNaN(score))
                {
                    return true;
                }

                pruned = pruner.ShouldStop(reported.Count, options.Folds, reported.Average(), peers);
                return pruned is null;
            }

            TrialRecord Record(IReadOnlyList<double> scores, TrialStatus status, string? reason, string? worker = null) =>
                new(number, proposal.Algorithm, proposal.Parameters, scores, scores.Count > 0 ? scores.Average() : null,
                    status, reason, _time.GetElapsedTime(started).TotalSeconds, worker);

            try
            {
                var request = new TrialRequest(number, proposal.Algorithm, proposal.Parameters, options.Folds, options.Scorer, options.Seed);
                var outcome = await executor.RunAsync(request, OnFold, outranked);
                var scores = outcome.FoldScores;
                if (!outcome.Stopped && outcome.OutOfFold is { } outOfFold)
                {
                    _outOfFold[number] = outOfFold;
                }
                var nan = scores.ToList().FindIndex(s => !double.IsFinite(s));
                var worker = outcome.Worker;
                return nan >= 0
                    ? Record(scores, TrialStatus.Failed, $"fold {nan} scored {scores[nan].ToString(CultureInfo.InvariantCulture)}: the scorer is undefined there (e.g. one class only in the fold)", worker)
                    : outcome.Stopped
                        ? Record(scores, TrialStatus.Pruned, pruned ?? "stopped by the executor", worker)
                        : scores.Count == options.Folds
                            ? Record(scores, TrialStatus.Complete, null, worker)
                            : Record(scores, TrialStatus.Failed, $"the executor returned {scores.Count} fold scores for {options.Folds} folds", worker);
            }
            catch (OperationCanceledException) when (budget.IsCancellationRequested)
            {
                return Record([.. reported], TrialStatus.Failed, $"stopped when the wall-clock budget of {options.WallClockBudget!.Value.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s ran out");
            }
            catch (OperationCanceledException) when (outranked.IsCancellationRequested && !stop.IsCancellationRequested)
            {
                return Record([.. reported], TrialStatus.Pruned, "stopped: a trial numbered below it scored the maximum, so it could not become the best");
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return Record([.. reported], TrialStatus.Failed, $"{e.GetType().Name}: {e.Message}");
            }
        }

        private async Task FinishAsync(TrialRecord trial, CancellationToken cancellationToken)
        {
            _finished[trial.Number] = trial;
            _outOfFold.TryRemove(trial.Number, out var outOfFold);
            await EmitAsync(new TrialFinished(trial, _finished.Count, _planned), cancellationToken);
            if (trial.Status == TrialStatus.Complete && outOfFold is not null)
            {
                _library.Add(trial, outOfFold);
            }
            if (trial.Status == TrialStatus.Complete && (_best is null || trial.Mean > _best.Mean || (trial.Mean == _best.Mean && trial.Number < _best.Number)))
            {
                _best = trial;
                _bestOutOfFold = outOfFold;
                await EmitAsync(new BestSoFar(trial), cancellationToken);
            }
        }

        private ValueTask EmitAsync(TuningEvent e, CancellationToken cancellationToken) =>
            onEvent is null ? ValueTask.CompletedTask : onEvent(e, cancellationToken);

        private string NoCompleteTrial(List<TrialRecord> trials, bool budgetExhausted)
        {
            if (budgetExhausted && trials.All(t => t.Status != TrialStatus.Failed || t.Reason?.StartsWith("stopped when", StringComparison.Ordinal) == true))
            {
                return $"No trial completed within the wall-clock budget of {options.WallClockBudget!.Value.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s: raise the budget or lower MaxTuningJobs.";
            }

            var failures = trials.Where(t => t.Status == TrialStatus.Failed).Take(3).Select(t => $"#{t.Number} {t.Algorithm}: {t.Reason}");
            return $"All {trials.Count} tuning trials failed, so there is no model to refit. First failures: {string.Join("; ", failures)}";
        }
    }
}
