using Flotilla.Learning.Evaluation;

namespace Flotilla.Learning.Ensembles;

/// <summary>
/// What ensemble selection chose: how many times each candidate was picked (its weight is picks / <see cref="Picks"/>),
/// the objective of that blend and of the first candidate alone, both on the rows the selection scored.
/// </summary>
public sealed record EnsembleSelectionResult(IReadOnlyList<int> Counts, int Picks, double Objective, double FirstObjective, int RowsScored)
{
    /// <summary>Candidates picked at least once, in candidate order.</summary>
    public IReadOnlyList<int> Members => [.. Enumerable.Range(0, Counts.Count).Where(i => Counts[i] > 0)];

    public double Weight(int candidate) => (double)Counts[candidate] / Picks;

    /// <summary>The blend of <paramref name="candidates"/> with these weights, per row.</summary>
    public double[] Blend(IReadOnlyList<IReadOnlyList<double>> candidates)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        var rows = candidates[0].Count;
        var blend = new double[rows];
        foreach (var member in Members)
        {
            var weight = Weight(member);
            var probabilities = candidates[member];
            for (var r = 0; r < rows; r++)
            {
                blend[r] += weight * probabilities[r];
            }
        }

        return blend;
    }
}

/// <summary>
/// Ensemble selection (Caruana, Niculescu-Mizil, Crew and Ksikes, ICML 2004): starting from the first candidate (the
/// tuner's best trial), repeatedly add — with replacement — the candidate whose addition maximises the scorer's
/// objective on the mean of the picked candidates' out-of-fold probabilities, for up to <c>size</c> picks, and keep
/// the prefix that scored best. Picking with replacement weights a candidate by how often it helps; keeping the best
/// prefix means a blend never scores below the first candidate alone, and stays that one model when nothing helps.
/// </summary>
public static class EnsembleSelection
{
    /// <summary>Above this many rows the objective is computed on an evenly spaced subset (AUC sorts every row per candidate per pick).</summary>
    public const int MaxRowsScored = 100_000;

    // An addition must beat the best blend so far by more than rounding to count as better.
    private const double Tolerance = 1e-12;

    public static EnsembleSelectionResult Select(
        IReadOnlyList<bool> labels, IReadOnlyList<IReadOnlyList<double>> candidates, Scorer scorer, int size, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(scorer);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        if (candidates.Count == 0)
        {
            throw new ArgumentException("Ensemble selection needs at least one candidate.", nameof(candidates));
        }

        var bad = candidates.Select((c, i) => (c, i)).FirstOrDefault(x => x.c.Count != labels.Count);
        if (bad.c is not null)
        {
            throw new ArgumentException($"Candidate {bad.i} has {bad.c.Count} probabilities for {labels.Count} rows.", nameof(candidates));
        }

        var stride = Math.Max(1, (labels.Count + MaxRowsScored - 1) / MaxRowsScored);
        var rows = Enumerable.Range(0, (labels.Count + stride - 1) / stride).Select(i => i * stride).ToArray();
        var y = rows.Select(r => labels[r]).ToArray();
        var scored = candidates.Select(c => rows.Select(r => c[r]).ToArray()).ToArray();
        // A candidate with a row it never predicted (NaN) cannot be blended.
        var usable = scored.Select(c => c.All(double.IsFinite)).ToArray();
        if (!usable[0])
        {
            throw new ArgumentException("The first candidate has rows without an out-of-fold probability.", nameof(candidates));
        }

        var counts = new int[candidates.Count];
        var sum = (double[])scored[0].Clone();
        counts[0] = 1;
        var first = scorer.Objective(y, scored[0]);
        var best = (Counts: (int[])counts.Clone(), Picks: 1, Objective: first);
        var trial = new double[y.Length];
        for (var picks = 2; picks <= size; picks++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var chosen = -1;
            var chosenObjective = double.NegativeInfinity;
            for (var c = 0; c < scored.Length; c++)
            {
                if (!usable[c])
                {
                    continue;
                }

                var candidate = scored[c];
                for (var r = 0; r < trial.Length; r++)
                {
                    trial[r] = (sum[r] + candidate[r]) / picks;
                }

                var objective = scorer.Objective(y, trial);
                if (objective > chosenObjective)
                {
                    chosen = c;
                    chosenObjective = objective;
                }
            }

            counts[chosen]++;
            for (var r = 0; r < sum.Length; r++)
            {
                sum[r] += scored[chosen][r];
            }

            if (chosenObjective > best.Objective + Tolerance)
            {
                best = ((int[])counts.Clone(), picks, chosenObjective);
            }
        }

        return new EnsembleSelectionResult(best.Counts, best.Picks, best.Objective, first, y.Length);
    }
}
