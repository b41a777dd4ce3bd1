namespace Flotilla.Tuning.Sampling;

/// <summary>
/// The search under a wall-clock budget (FLAML's idea: cheap first, expensive only when time allows). The first trial
/// of each family (trials 0 to families − 1, one family each, in the order given) is its cheapest configuration (<see cref="TrialCost.Cheapest"/>), so every family gets a score and a
/// cost estimate early. Afterwards each proposal of the inner sampler is checked against the time left: when its
/// expected seconds (<see cref="TrialCost.Estimate"/>) exceed what remains, up to <see cref="Alternatives"/> other
/// draws are tried and the first that fits is run, or else the cheapest of them. Only used with a budget: without
/// one the inner sampler proposes alone, so unbudgeted runs stay exactly reproducible.
/// </summary>
internal sealed class CostAwareSampler(Sampler inner, IReadOnlyList<Learning.Algorithms.SearchSpace> spaces, int seed, int folds) : Sampler
{
    public const int Alternatives = 8;

    // Alternative draws use trial numbers no run reaches (MaxTrials ≤ 10,000), so they never repeat a real trial's stream.
    private const int AlternativeOffset = 1_000_003;

    private const int Stream = 3;

    private int _cheapStarts;
    private int _replaced;

    /// <summary>Trials proposed at their family's cheapest configuration.</summary>
    public int CheapStarts => _cheapStarts;

    /// <summary>Proposals replaced by a cheaper draw because they were not expected to finish in the time left.</summary>
    public int Replaced => _replaced;

    public override Proposal Propose(int number, IReadOnlyList<TrialRecord> history) => Propose(number, history, null);

    public override Proposal Propose(int number, IReadOnlyList<TrialRecord> history, TimeSpan? remaining)
    {
        // Trial n < families starts family n (by number, not by what has finished, so parallel slots start different families).
        if (number < spaces.Count && history.All(t => t.Algorithm != spaces[number].Algorithm))
        {
            var untried = spaces[number];
            Interlocked.Increment(ref _cheapStarts);
            var drawn = RandomSampler.SampleAll(untried, TrialRandom.For(seed, number, Stream));
            return new Proposal(untried.Algorithm, TrialCost.Cheapest(untried, drawn));
        }

        var proposal = inner.Propose(number, history);
        if (remaining is not { } left || Fits(proposal, history, left, out var cost))
        {
            return proposal;
        }

        Interlocked.Increment(ref _replaced);
        var cheapest = (Proposal: proposal, Cost: cost);
        for (var k = 1; k <= Alternatives; k++)
        {
            var alternative = inner.Propose(number + (k * AlternativeOffset), history);
            if (Fits(alternative, history, left, out var alternativeCost))
            {
                return alternative;
            }

            if (alternativeCost < cheapest.Cost)
            {
                cheapest = (alternative, alternativeCost);
            }
        }

        return cheapest.Proposal;
    }

    private bool Fits(Proposal proposal, IReadOnlyList<TrialRecord> history, TimeSpan left, out double cost)
    {
        cost = TrialCost.Estimate(proposal, history, folds) ?? 0;
        return cost <= left.TotalSeconds;
    }
}
