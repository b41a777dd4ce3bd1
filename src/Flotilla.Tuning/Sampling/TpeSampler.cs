using Flotilla.Learning.Algorithms;

namespace Flotilla.Tuning.Sampling;

/// <summary>
/// Tree-structured Parzen estimator over the joint, conditional space, after Optuna's univariate TPE
/// (Bergstra et al. 2011; Optuna's defaults: 10 start-up trials, 24 candidates, gamma = min(ceil(0.1 n), 25),
/// prior weight 1, "magic clip" bandwidths, recency weights beyond 25 observations).
/// <para>
/// The tree has two levels. First the family (see <see cref="ChooseFamily"/>: Thompson sampling on each family's
/// best score, which explores families more evenly than a TPE over the family would). Then each parameter of the
/// chosen family, independently, by TPE over that family's trials only: the top gamma(n) of them form the "good"
/// density l, the rest the "bad" density g, and of 24 candidates drawn from l the one with the largest l/g wins.
/// So a family's parameters are tuned against its own best.
/// </para>
/// Pruned trials always count as bad; failed trials are ignored.
/// </summary>
internal sealed class TpeSampler(IReadOnlyList<SearchSpace> spaces, int seed, int startupTrials = 10, int candidates = 24) : Sampler
{
    private const double PriorWeight = 1.0;

    public override Proposal Propose(int number, IReadOnlyList<TrialRecord> history)
    {
        var usable = history
            .Where(t => t.Status != TrialStatus.Failed && t.FoldScores.Count > 0 && spaces.Any(s => s.Algorithm == t.Algorithm))
            .ToList();
        if (usable.Count(t => t.Status == TrialStatus.Complete) < startupTrials)
        {
            return new RandomSampler(spaces, seed).Propose(number, history);
        }

        var random = TrialRandom.For(seed, number, stream: 2);
        var space = spaces[ChooseFamily(usable, random)];

        var own = usable.Where(t => t.Algorithm == space.Algorithm).ToList();
        var (ownGood, ownBad) = Split(own);
        var values = new List<KeyValuePair<string, ParameterValue>>(space.Parameters.Count);
        foreach (var spec in space.Parameters)
        {
            values.Add(KeyValuePair.Create(spec.Name, SampleParameter(spec, space.Algorithm, own, ownGood, ownBad, random)));
        }

        return new Proposal(space.Algorithm, new HyperParameters(values));
    }

    /// <summary>
    /// The family, by Thompson sampling on how good each family can get: a draw from N(best_f, sigma / sqrt(n_f)) per
    /// family, where best_f is the family's best complete score, n_f its number of usable trials and sigma a robust
    /// spread of all usable trials' scores (a pruned trial's at its running mean); the highest draw wins, and a family without trials is tried first.
    /// <para>
    /// Why not a TPE over the family as over any categorical: its good group is the top tenth of all trials, so
    /// the family that leads after the start-up takes nearly every later trial, and a family whose best
    /// configuration is better but rare (a logistic regression's narrow band of C) is never revisited — measured
    /// on breast-cancer, that search ended below random search. Here a family keeps getting trials while its best
    /// is within its own uncertainty of the leader, which shrinks as it gets trials; the per-family TPE below then
    /// does the fine search.
    /// </para>
    /// </summary>
    private int ChooseFamily(List<TrialRecord> usable, Random random)
    {
        // The spread counts pruned trials at their running mean. Taken over complete trials only, pruning (which
        // removes the weak tail) shrank it, so the leading family (on breast-cancer the NeuralNet, the costliest per
        // trial) took nearly every later trial: measured, a run with the median pruner spent more trial-seconds than
        // one without, pruning or not. With the pruned trials in, the family choice is the one an unpruned history
        // with the same scores would give.
        var scores = usable.Select(t => t.Mean!.Value).Order().ToList();
        var q1 = scores[(int)(0.25 * (scores.Count - 1))];
        var q3 = scores[(int)(0.75 * (scores.Count - 1))];
        var sigma = Math.Max((q3 - q1) / 1.349, 1e-6);
        var best = -1;
        var bestDraw = double.NegativeInfinity;
        for (var f = 0; f < spaces.Count; f++)
        {
            var own = usable.Where(t => t.Algorithm == spaces[f].Algorithm).ToList();
            var top = own.Where(t => t.Status == TrialStatus.Complete).Select(t => t.Mean!.Value).DefaultIfEmpty(double.NaN).Max();
            if (own.Count == 0)
            {
                return f;
            }

            // A family whose trials were all pruned is judged by the best running mean it reached.
            top = double.IsNaN(top) ? own.Max(t => t.Mean ?? double.NegativeInfinity) : top;
            var draw = top + (sigma / Math.Sqrt(own.Count) * Normal.Standard(random));
            if (draw > bestDraw)
            {
                (best, bestDraw) = (f, draw);
            }
        }

        return best;
    }

    /// <summary>Complete trials best first (ties: lower number), then pruned ones; the first gamma(n) are good.</summary>
    private static (List<TrialRecord> Good, List<TrialRecord> Bad) Split(List<TrialRecord> trials)
    {
        var ranked = trials
            .OrderBy(t => t.Status == TrialStatus.Complete ? 0 : 1)
            .ThenByDescending(t => t.FoldScores.Count)
            .ThenByDescending(t => t.Mean)
            .ThenBy(t => t.Number)
            .ToList();
        var complete = ranked.Count(t => t.Status == TrialStatus.Complete);
        var goodCount = Math.Min(Math.Min((int)Math.Ceiling(0.1 * ranked.Count), 25), complete);
        return (ranked[..goodCount], ranked[goodCount..]);
    }

    /// <summary>Values of a group with Optuna's recency weights, computed over the group's whole population by number.</summary>
    private static List<(T Value, double Weight)> Observations<T>(List<TrialRecord> group, List<TrialRecord> population, Func<TrialRecord, T> value)
    {
        var weights = RecencyWeights(population);
        return [.. group.Select(t => (value(t), weights[t]))];
    }

    /// <summary>Weight 1 for the 25 newest observations; older ones ramp linearly from 1/n up to 1.</summary>
    private static Dictionary<TrialRecord, double> RecencyWeights(List<TrialRecord> population)
    {
        // The tuner numbers warm-start trials below zero, so "older" is simply "lower number".
        var ordered = population.OrderBy(t => t.Number).ToList();
        var n = ordered.Count;
        var weights = new Dictionary<TrialRecord, double>(n, ReferenceEqualityComparer.Instance);
        var ramp = Math.Max(n - 25, 0);
        for (var i = 0; i < n; i++)
        {
            weights[ordered[i]] = i >= ramp ? 1.0 : ramp == 1 ? 1.0 / n : (1.0 / n) + ((1 - (1.0 / n)) * i / (ramp - 1));
        }

        return weights;
    }

    private ParameterValue SampleParameter(
        ParameterSpec spec, string algorithm, List<TrialRecord> own, List<TrialRecord> good, List<TrialRecord> bad, Random random)
    {
        // An earlier trial may lack the parameter or hold a value the space no longer allows (warm start from an
        // older space): such observations are left out rather than trusted.
        bool Legal(TrialRecord t)
        {
            if (!t.Parameters.TryGetValue(spec.Name, out var v))
            {
                return false;
            }

            try
            {
                spec.Validate(v, algorithm);
                return true;
            }
            catch (ArgumentException)
            {
                return false;
            }
        }

        var goodLegal = good.Where(Legal).ToList();
        var badLegal = bad.Where(Legal).ToList();
        var population = own.Where(Legal).ToList();
        if (spec.Kind == ParameterKind.Categorical)
        {
            var choices = spec.Choices!;
            int Index(TrialRecord t) => IndexOfChoice(choices, t.Parameters[spec.Name].Text!);
            var chosen = SampleCategorical(choices.Count, Observations(goodLegal, population, Index), Observations(badLegal, population, Index), random);
            return ParameterValue.Of(choices[chosen]);
        }

        var scale = new ParameterScale(spec);
        double Internal(TrialRecord t) => scale.ToInternal(t.Parameters[spec.Name]);
        var l = new ParzenEstimator(Observations(goodLegal, population, Internal), scale.Low, scale.High);
        var g = new ParzenEstimator(Observations(badLegal, population, Internal), scale.Low, scale.High);
        var best = double.NaN;
        var bestScore = double.NegativeInfinity;
        for (var i = 0; i < candidates; i++)
        {
            var x = l.Sample(random);
            var score = l.LogDensity(x) - g.LogDensity(x);
            if (score > bestScore)
            {
                (best, bestScore) = (x, score);
            }
        }

        return scale.FromInternal(best);
    }

    private static int IndexOfChoice(IReadOnlyList<string> choices, string choice)
    {
        for (var i = 0; i < choices.Count; i++)
        {
            if (choices[i] == choice)
            {
                return i;
            }
        }

        throw new ArgumentException($"'{choice}' is not a choice.");
    }

    /// <summary>Weighted category counts plus a uniform prior; the candidate drawn from l with the best l/g wins.</summary>
    private int SampleCategorical(int count, List<(int Value, double Weight)> good, List<(int Value, double Weight)> bad, Random random)
    {
        var l = CategoricalDensity(count, good);
        var g = CategoricalDensity(count, bad);
        var best = 0;
        var bestScore = double.NegativeInfinity;
        for (var i = 0; i < candidates; i++)
        {
            var u = random.NextDouble();
            var c = 0;
            for (var acc = l[0]; acc < u && c < count - 1; acc += l[++c])
            {
            }

            var score = Math.Log(l[c]) - Math.Log(g[c]);
            if (score > bestScore)
            {
                (best, bestScore) = (c, score);
            }
        }

        return best;
    }

    private static double[] CategoricalDensity(int count, List<(int Value, double Weight)> observations)
    {
        var p = new double[count];
        Array.Fill(p, PriorWeight / count);
        foreach (var (value, weight) in observations.Where(o => o.Value >= 0))
        {
            p[value] += weight;
        }

        var total = p.Sum();
        for (var i = 0; i < count; i++)
        {
            p[i] /= total;
        }

        return p;
    }
}
