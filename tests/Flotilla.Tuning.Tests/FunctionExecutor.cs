using Flotilla.Learning.Algorithms;

namespace Flotilla.Tuning.Tests;

/// <summary>
/// A real trial executor whose "model" is a known function of the hyper-parameters, so tests can say which trial
/// ought to win. Fold k scores the function plus a small fixed offset per fold, the way real folds differ.
/// </summary>
internal sealed class FunctionExecutor(Func<string, HyperParameters, double> score, int capacity = 1) : ITrialExecutor
{
    private int _running;
    private int _maxRunning;
    private int _calls;

    public int Capacity => capacity;

    public IReadOnlyList<TrialWorker> Workers => [];

    /// <summary>Simulated duration of a trial (the real ones vary too); null runs it at once.</summary>
    public Func<TrialRequest, TimeSpan>? Duration { get; init; }

    /// <summary>Called before each fold: lets a test move a fake clock or throw as a learner would.</summary>
    public Action<TrialRequest, int>? BeforeFold { get; init; }

    public int MaxConcurrent => _maxRunning;

    public int Calls => _calls;

    public List<int> Numbers { get; } = [];

    public static readonly SearchSpace Bowl = new("Bowl",
    [
        ParameterSpec.Float("x", 0, 1),
        ParameterSpec.Float("c", 1e-4, 10, logScale: true),
        ParameterSpec.Integer("depth", 1, 9),
        ParameterSpec.Categorical("kind", ["a", "b", "c"]),
    ]);

    public static readonly SearchSpace Flat = new("Flat",
    [
        ParameterSpec.Float("y", 0, 1),
        ParameterSpec.Categorical("mode", ["p", "q"]),
    ]);

    /// <summary>Best at x = 0.3, c = 0.1, depth = 6, kind = b (score 1); Flat never beats 0.6.</summary>
    public static double Known(string algorithm, HyperParameters p) => algorithm switch
    {
        "Bowl" => 1
            - Math.Pow(p.GetDouble("x", 0) - 0.3, 2)
            - (Math.Pow(Math.Log10(p.GetDouble("c", 1)) + 1, 2) / 25)
            - (Math.Abs(p.GetInt("depth", 0) - 6) * 0.01)
            - (p.GetString("kind", "") == "b" ? 0 : 0.05),
        "Flat" => 0.5 + (0.1 * p.GetDouble("y", 0)),
        _ => throw new InvalidOperationException($"The {algorithm} learner cannot fit this data."),
    };

    public async Task<TrialOutcome> RunAsync(TrialRequest trial, FoldCallback onFold, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        lock (Numbers)
        {
            Numbers.Add(trial.Number);
        }

        var now = Interlocked.Increment(ref _running);
        for (var seen = _maxRunning; now > seen; seen = _maxRunning)
        {
            Interlocked.CompareExchange(ref _maxRunning, now, seen);
        }

        try
        {
            if (Duration?.Invoke(trial) is { } duration && duration > TimeSpan.Zero)
            {
                await Task.Delay(duration, cancellationToken);
            }

            var value = score(trial.Algorithm, trial.Parameters);
            var scores = new List<double>();
            for (var fold = 0; fold < trial.Folds; fold++)
            {
                BeforeFold?.Invoke(trial, fold);
                cancellationToken.ThrowIfCancellationRequested();
                scores.Add(value + (0.002 * (fold - 2)));
                if (!onFold(fold, scores[^1]))
                {
                    return new TrialOutcome(scores, Stopped: true);
                }
            }

            return new TrialOutcome(scores, Stopped: false);
        }
        finally
        {
            Interlocked.Decrement(ref _running);
        }
    }
}
