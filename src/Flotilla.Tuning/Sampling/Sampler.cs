using Flotilla.Learning.Algorithms;

namespace Flotilla.Tuning.Sampling;

/// <summary>An (algorithm, hyper-parameters) pair to try.</summary>
internal sealed record Proposal(string Algorithm, HyperParameters Parameters);

/// <summary>
/// Proposes trial <c>number</c> from a history. Implementations are pure functions of (seed, number, history):
/// the randomness of a trial comes from <see cref="TrialRandom.For"/>, never from a shared stream, so a proposal
/// does not depend on the order in which earlier proposals were made or trials finished.
/// </summary>
internal abstract class Sampler
{
    /// <summary>How many trials this sampler can propose at most (a grid runs out), or null for no limit.</summary>
    public virtual int? Size => null;

    public abstract Proposal Propose(int number, IReadOnlyList<TrialRecord> history);

    /// <summary>The same, knowing the wall-clock time left in the budget (null: none); only <see cref="CostAwareSampler"/> uses it.</summary>
    public virtual Proposal Propose(int number, IReadOnlyList<TrialRecord> history, TimeSpan? remaining) => Propose(number, history);

    public static Sampler Create(TuningStrategy strategy, IReadOnlyList<SearchSpace> spaces, int seed, int maxTrials) => strategy switch
    {
        TuningStrategy.Random => new RandomSampler(spaces, seed),
        TuningStrategy.Tpe => new TpeSampler(spaces, seed),
        TuningStrategy.Grid => new GridSampler(spaces, seed, maxTrials),
        _ => throw new ArgumentOutOfRangeException(nameof(strategy), strategy, "Unknown tuning strategy."),
    };
}

/// <summary>Seeds derived from (run seed, trial number, stream) with SplitMix64, so each trial has its own stream.</summary>
internal static class TrialRandom
{
    public static Random For(int seed, int number, int stream)
    {
        var x = ((ulong)(uint)seed << 32) ^ ((ulong)(uint)number * 0x9E3779B97F4A7C15UL) ^ ((ulong)(uint)stream << 17);
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        x ^= x >> 31;
        return new Random((int)(x & 0x7FFFFFFF));
    }
}
