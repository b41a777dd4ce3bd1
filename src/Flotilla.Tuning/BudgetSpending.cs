using Flotilla.Tuning.Sampling;

namespace Flotilla.Tuning;

/// <summary>What one family's trials cost in a budgeted run.</summary>
public sealed record FamilySpending(string Algorithm, int Trials, int Complete, double Seconds, double? BestScore);

/// <summary>
/// How a run spent its wall-clock budget: the time used, the trial-seconds per family (trials run in parallel, so
/// they can add up to more than the wall time), how many trials started at their family's cheapest configuration,
/// how many proposals were swapped for cheaper ones because they were not expected to finish in the time left, and
/// how many trials the end of the budget stopped.
/// </summary>
public sealed record BudgetSpending(
    double BudgetSeconds, double UsedSeconds, IReadOnlyList<FamilySpending> Families, int CheapStarts, int Replaced, int StoppedByBudget)
{
    /// <summary>One line for a step's log.</summary>
    public string Describe() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"budget: {UsedSeconds:0.#} s of {BudgetSeconds:0.#} s; {CheapStarts} cheap first trials, {Replaced} proposals swapped for cheaper ones, {StoppedByBudget} stopped by the budget; trial-seconds {string.Join(", ", Families.Select(f => $"{f.Algorithm} {f.Seconds:0.#} s ({f.Trials} trials)"))}");

    internal static BudgetSpending Of(TimeSpan budget, TimeSpan used, IReadOnlyList<TrialRecord> trials, CostAwareSampler? sampler) => new(
        budget.TotalSeconds,
        used.TotalSeconds,
        [.. trials.GroupBy(t => t.Algorithm).Select(g => new FamilySpending(
            g.Key, g.Count(), g.Count(t => t.Status == TrialStatus.Complete), g.Sum(t => t.Seconds),
            g.Where(t => t.Status == TrialStatus.Complete).Select(t => t.Mean).Max())).OrderByDescending(f => f.Seconds)],
        sampler?.CheapStarts ?? 0,
        sampler?.Replaced ?? 0,
        trials.Count(t => t.Status == TrialStatus.Failed && t.Reason?.StartsWith("stopped when the wall-clock budget", StringComparison.Ordinal) == true));
}
