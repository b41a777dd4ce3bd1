using Flotilla.Learning.Algorithms;
using Microsoft.Extensions.Time.Testing;

namespace Flotilla.Tuning.Tests;

public sealed class TunerTests
{
    private static readonly SearchSpace Broken = new("Broken", [ParameterSpec.Float("z", 0, 1)]);

    private static TuningOptions Options(int trials = 30, int parallel = 1, int seed = 42) => new()
    {
        MaxTrials = trials,
        MaxParallelTrials = parallel,
        Seed = seed,
        SearchSpaces = [FunctionExecutor.Bowl, FunctionExecutor.Flat],
    };

    internal static object Essence(TrialRecord t) => (t.Number, t.Algorithm, t.Parameters.ToString(), string.Join(",", t.FoldScores), t.Status, t.Reason);

    [Fact]
    public async Task The_same_seed_gives_the_same_trials_and_best_whatever_order_parallel_trials_finish_in()
    {
        var options = Options(trials: 36, parallel: 4) with { Pruning = PruningMode.Median };
        var sequential = await new Tuner().RunAsync(new FunctionExecutor(FunctionExecutor.Known, capacity: 1), options);

        var jitter = new Random(7);
        var parallel = await new Tuner().RunAsync(
            new FunctionExecutor(FunctionExecutor.Known, capacity: 4)
            {
                // Durations drawn per call, so trials finish in an order unrelated to their numbers.
                Duration = _ => TimeSpan.FromMilliseconds(jitter.Next(0, 15)),
            },
            options);

        Assert.Equal(sequential.Trials.Select(Essence), parallel.Trials.Select(Essence));
        Assert.Equal(sequential.Best.Number, parallel.Best.Number);
        Assert.Equal(4, parallel.EffectiveParallelism);
        Assert.Equal(1, sequential.EffectiveParallelism);
    }

    [Fact]
    public async Task Different_seeds_give_different_proposals()
    {
        var a = await new Tuner().RunAsync(new FunctionExecutor(FunctionExecutor.Known), Options(trials: 5, seed: 1));
        var b = await new Tuner().RunAsync(new FunctionExecutor(FunctionExecutor.Known), Options(trials: 5, seed: 2));

        Assert.NotEqual(a.Trials.Select(t => t.Parameters.ToString()), b.Trials.Select(t => t.Parameters.ToString()));
    }

    [Fact]
    public async Task Parallel_trials_are_capped_by_the_executor_capacity_and_the_cap_is_reported()
    {
        var executor = new FunctionExecutor(FunctionExecutor.Known, capacity: 2) { Duration = _ => TimeSpan.FromMilliseconds(5) };

        var result = await new Tuner().RunAsync(executor, Options(trials: 12, parallel: 6));

        Assert.Equal(6, result.RequestedParallelism);
        Assert.Equal(2, result.EffectiveParallelism);
        Assert.InRange(executor.MaxConcurrent, 1, 2);
    }

    [Fact]
    public async Task A_trial_that_throws_is_recorded_as_failed_and_the_search_goes_on()
    {
        var options = Options(trials: 24) with { SearchSpaces = [FunctionExecutor.Bowl, Broken], Strategy = TuningStrategy.Random };

        var result = await new Tuner().RunAsync(new FunctionExecutor(FunctionExecutor.Known), options);

        Assert.Equal(24, result.Trials.Count);
        var failed = result.Trials.Where(t => t.Algorithm == "Broken").ToList();
        Assert.NotEmpty(failed);
        Assert.All(failed, t =>
        {
            Assert.Equal(TrialStatus.Failed, t.Status);
            Assert.Null(t.Mean);
            Assert.Equal("InvalidOperationException: The Broken learner cannot fit this data.", t.Reason);
        });
        Assert.Equal("Bowl", result.Best.Algorithm);
        Assert.Equal(failed.Count, result.Failed);
    }

    [Fact]
    public async Task When_every_trial_fails_the_run_fails_naming_the_trials_and_the_reason()
    {
        var options = Options(trials: 4) with { SearchSpaces = [Broken] };

        var error = await Assert.ThrowsAsync<TuningFailedException>(() => new Tuner().RunAsync(new FunctionExecutor(FunctionExecutor.Known), options));

        Assert.Contains("All 4 tuning trials failed", error.Message);
        Assert.Contains("#0 Broken: InvalidOperationException: The Broken learner cannot fit this data.", error.Message);
    }

    [Fact]
    public async Task Resuming_runs_only_the_missing_trials_and_ends_as_an_uninterrupted_run_would()
    {
        var options = Options(trials: 24, parallel: 3) with { Pruning = PruningMode.Median };
        var whole = await new Tuner().RunAsync(new FunctionExecutor(FunctionExecutor.Known, capacity: 3), options);

        // As if the process died with trials 14 and 16 still running and 17.. never started.
        var kept = whole.Trials.Where(t => t.Number < 17 && t.Number is not 14 and not 16).ToList();
        var executor = new FunctionExecutor(FunctionExecutor.Known, capacity: 3);
        var resumed = await new Tuner().RunAsync(executor, options with { Completed = kept });

        Assert.Equal([14, 16, .. Enumerable.Range(17, 7)], executor.Numbers.Order());
        Assert.Equal(whole.Trials.Select(Essence), resumed.Trials.Select(Essence));
        Assert.Equal(Essence(whole.Best), Essence(resumed.Best));
    }

    [Fact]
    public async Task Events_report_each_trial_started_and_finished_and_a_rising_best_so_far()
    {
        var events = new List<TuningEvent>();
        var persisted = new List<int>();

        var result = await new Tuner().RunAsync(
            new FunctionExecutor(FunctionExecutor.Known, capacity: 2),
            Options(trials: 20, parallel: 2),
            (e, _) =>
            {
                lock (events)
                {
                    events.Add(e);
                    if (e is TrialFinished f)
                    {
                        persisted.Add(f.Trial.Number);
                    }
                }

                return ValueTask.CompletedTask;
            });

        Assert.Equal(Enumerable.Range(0, 20), events.OfType<TrialStarted>().Select(e => e.Number));
        Assert.Equal(Enumerable.Range(0, 20), persisted.Order());
        Assert.Equal(20, events.OfType<TrialFinished>().Last().Finished);
        var bests = events.OfType<BestSoFar>().Select(b => b.Trial.Mean!.Value).ToList();
        Assert.Equal(bests.Order(), bests);
        Assert.Equal(result.Best, events.OfType<BestSoFar>().Last().Trial);
        foreach (var finished in events.OfType<TrialFinished>())
        {
            Assert.True(events.IndexOf(events.OfType<TrialStarted>().Single(s => s.Number == finished.Trial.Number)) < events.IndexOf(finished));
        }
    }

    [Fact]
    public async Task A_wall_clock_budget_stops_the_run_and_keeps_what_finished()
    {
        var clock = new FakeTimeProvider();
        // Every fold takes a second of the fake clock: a 5-fold trial takes 5 s, so a 12 s budget ends in trial 2.
        var executor = new FunctionExecutor(FunctionExecutor.Known) { BeforeFold = (_, _) => clock.Advance(TimeSpan.FromSeconds(1)) };

        var result = await new Tuner(clock).RunAsync(executor, Options(trials: 10) with { WallClockBudget = TimeSpan.FromSeconds(12) });

        Assert.True(result.BudgetExhausted);
        Assert.Equal(3, result.Trials.Count);
        Assert.Equal([TrialStatus.Complete, TrialStatus.Complete, TrialStatus.Failed], result.Trials.Select(t => t.Status));
        Assert.Equal("stopped when the wall-clock budget of 12 s ran out", result.Trials[2].Reason);
        Assert.Equal(3, executor.Calls);
    }

    [Fact]
    public async Task A_perfect_score_ends_the_search_early_and_the_earliest_perfect_trial_is_best_at_any_parallelism()
    {
        // Flat with mode q scores a perfect 1 on every fold (its fold offsets cancel out in the mean only when exact, so no offsets here).
        static double Score(string algorithm, HyperParameters p) => algorithm == "Flat" && p.GetString("mode", "") == "q" ? 1.0 : 0.5;
        var options = Options(trials: 40, parallel: 3) with { Strategy = TuningStrategy.Random, Pruning = PruningMode.None };

        var sequential = await new Tuner().RunAsync(new PerfectExecutor(Score, capacity: 1), options);
        var parallel = await new Tuner().RunAsync(new PerfectExecutor(Score, capacity: 3), options);

        Assert.True(sequential.PerfectScoreReached);
        Assert.Equal(sequential.Best.Number + 1, sequential.Trials.Count);
        Assert.True(sequential.Trials.Count < 40);
        Assert.Equal(Essence(sequential.Best), Essence(parallel.Best));
        Assert.InRange(parallel.Trials.Count, sequential.Trials.Count, sequential.Trials.Count + 2);
    }

    [Fact]
    public async Task Resuming_after_a_perfect_trial_still_runs_the_missing_trials_numbered_below_it()
    {
        static double Score(string algorithm, HyperParameters p) => algorithm == "Flat" && p.GetString("mode", "") == "q" ? 1.0 : 0.5;
        var options = Options(trials: 40, parallel: 1) with { Strategy = TuningStrategy.Random, Pruning = PruningMode.None };
        var whole = await new Tuner().RunAsync(new PerfectExecutor(Score, capacity: 1), options);
        var perfect = whole.Best.Number;
        Assert.True(perfect >= 1, $"the seed must not make trial 0 perfect (it made trial {perfect})");

        var executor = new PerfectExecutor(Score, capacity: 1);
        var resumed = await new Tuner().RunAsync(executor, options with { Completed = [.. whole.Trials.Where(t => t.Number != perfect - 1)] });

        Assert.Equal([perfect - 1], executor.Numbers);
        Assert.Equal(whole.Trials.Select(Essence), resumed.Trials.Select(Essence));
    }

    [Fact]
    public async Task A_perfect_trial_stops_the_running_trial_numbered_above_it_instead_of_waiting_for_it()
    {
        static double Score(string algorithm, HyperParameters p) => algorithm == "Flat" && p.GetString("mode", "") == "q" ? 1.0 : 0.5;
        var options = Options(trials: 40, parallel: 2) with { Strategy = TuningStrategy.Random, Pruning = PruningMode.None };
        var perfect = (await new Tuner().RunAsync(new PerfectExecutor(Score, capacity: 1), options)).Best.Number;

        // Trial perfect + 1 would run until stopped; the perfect trial ends only once that one is running.
        var slowStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var executor = new PerfectExecutor(Score, capacity: 2)
        {
            Before = async (number, ct) =>
            {
                if (number == perfect + 1)
                {
                    slowStarted.SetResult();
                    await Task.Delay(Timeout.Infinite, ct);
                }
                else if (number == perfect)
                {
                    await slowStarted.Task.WaitAsync(ct);
                }
            },
        };
        var result = await new Tuner().RunAsync(executor, options).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(perfect, result.Best.Number);
        var stopped = Assert.Single(result.Trials, t => t.Number == perfect + 1);
        Assert.Equal(TrialStatus.Pruned, stopped.Status);
        Assert.Contains("scored the maximum", stopped.Reason);
    }

    /// <summary>Every fold scores exactly the function's value, so a perfect configuration has a mean of exactly 1.</summary>
    private sealed class PerfectExecutor(Func<string, HyperParameters, double> score, int capacity) : ITrialExecutor
    {
        public int Capacity => capacity;

        public IReadOnlyList<TrialWorker> Workers => [];

        public List<int> Numbers { get; } = [];

        /// <summary>Awaited before the folds with the trial's number: lets a test hold a trial or make it run until stopped.</summary>
        public Func<int, CancellationToken, Task>? Before { get; init; }

        public async Task<TrialOutcome> RunAsync(TrialRequest trial, FoldCallback onFold, CancellationToken cancellationToken)
        {
            lock (Numbers)
            {
                Numbers.Add(trial.Number);
            }

            await Task.Yield();
            if (Before is not null)
            {
                await Before(trial.Number, cancellationToken);
            }

            var scores = Enumerable.Repeat(score(trial.Algorithm, trial.Parameters), trial.Folds).ToList();
            for (var fold = 0; fold < scores.Count; fold++)
            {
                onFold(fold, scores[fold]);
            }

            return new TrialOutcome(scores, Stopped: false);
        }
    }

    [Fact]
    public async Task Stopping_the_run_cancels_the_running_trials_and_throws()
    {
        using var stop = new CancellationTokenSource();
        var executor = new FunctionExecutor(FunctionExecutor.Known, capacity: 2) { Duration = _ => TimeSpan.FromMinutes(5) };

        var run = new Tuner().RunAsync(executor, Options(trials: 10, parallel: 2), (e, _) =>
        {
            if (e is TrialStarted { Number: 1 })
            {
                stop.Cancel();
            }

            return ValueTask.CompletedTask;
        }, stop.Token);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.InRange(executor.Calls, 1, 2);
    }

    [Fact]
    public async Task A_trial_record_survives_a_json_round_trip_so_a_resumed_run_can_be_fed_what_was_persisted()
    {
        var result = await new Tuner().RunAsync(new FunctionExecutor(FunctionExecutor.Known), Options(trials: 8));
        var json = System.Text.Json.JsonSerializer.Serialize(result.Trials);

        var back = System.Text.Json.JsonSerializer.Deserialize<List<TrialRecord>>(json)!;

        Assert.Equal(result.Trials.Select(Essence), back.Select(Essence));
        Assert.Equal(result.Trials.Select(t => t.Parameters), back.Select(t => t.Parameters));
    }

    [Theory]
    [InlineData(0, 1, 5, "MaxTrials")]
    [InlineData(10, 0, 5, "MaxParallelTrials")]
    [InlineData(10, 1, 1, "Folds")]
    public async Task Impossible_options_are_refused_naming_the_option(int trials, int parallel, int folds, string option)
    {
        var options = Options(trials, parallel) with { Folds = folds };

        var error = await Assert.ThrowsAsync<ArgumentException>(() => new Tuner().RunAsync(new FunctionExecutor(FunctionExecutor.Known), options));

        Assert.Contains($"Tuning option {option}", error.Message);
    }
}
