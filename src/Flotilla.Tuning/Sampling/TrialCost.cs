using System.Globalization;
using Flotilla.Learning.Algorithms;

namespace Flotilla.Tuning.Sampling;

/// <summary>
/// A trial's expected seconds, learned from the finished ones (FLAML's cost model, simplified). Each family's cost is
/// a rate times a proxy of how much work its hyper-parameters ask for — the product of the cost-related ones the
/// families share by name (trees, depth, epochs or iterations, hidden width, features per split) — and the rate is
/// the median of seconds / proxy over that family's finished trials, a pruned trial's seconds scaled up to all folds.
/// A family without finished trials has no estimate.
/// </summary>
internal static class TrialCost
{
    /// <summary>The parameters that buy accuracy with time, each at its cheapest value when a family starts (see <see cref="Cheapest"/>).</summary>
    private static readonly HashSet<string> CostRelated = new(StringComparer.Ordinal) { "n_estimators", "max_depth", "max_iter", "hidden_layer_sizes", "max_features", "num_leaves" };

    /// <summary>Relative work of a configuration: 1 for a family's cheapest corner, growing with each cost-related parameter.</summary>
    public static double Proxy(HyperParameters parameters)
    {
        var proxy = 1.0;
        foreach (var (name, value) in parameters)
        {
            proxy *= name switch
            {
                "n_estimators" or "max_depth" or "max_iter" => Number(value),
                "num_leaves" => Math.Sqrt(Number(value)),
                "hidden_layer_sizes" => (value.Text ?? "").Split(',').Sum(w => double.TryParse(w, NumberStyles.Float, CultureInfo.InvariantCulture, out var width) ? width : 50) / 50,
                "max_features" => value.Text == "all" ? 4 : 1,
                _ => 1,
            };
        }

        return Math.Max(proxy, 1e-9);
    }

    /// <summary>Expected seconds of <paramref name="proposal"/>, or null when no trial of its family has finished.</summary>
    public static double? Estimate(Proposal proposal, IReadOnlyList<TrialRecord> finished, int folds)
    {
        var rates = finished
            .Where(t => t.Algorithm == proposal.Algorithm && t.FoldScores.Count > 0 && t.Seconds > 0)
            .Select(t => t.Seconds * folds / t.FoldScores.Count / Proxy(t.Parameters))
            .Order()
            .ToArray();
        return rates.Length == 0 ? null : rates[rates.Length / 2] * Proxy(proposal.Parameters);
    }

    /// <summary>The family's configuration with every cost-related parameter at its cheapest value in the space, the others as drawn.</summary>
    public static HyperParameters Cheapest(SearchSpace space, HyperParameters drawn)
    {
        var cheapest = drawn;
        foreach (var spec in space.Parameters.Where(p => CostRelated.Contains(p.Name)))
        {
            var value = spec.Kind == ParameterKind.Categorical
                ? spec.Choices!.MinBy(c => Proxy(new HyperParameters([KeyValuePair.Create(spec.Name, ParameterValue.Of(c))])))!
                : ParameterValue.Of(spec.Min);
            cheapest = cheapest.With(spec.Name, value);
        }

        return cheapest;
    }

    private static double Number(ParameterValue value) =>
        value.Number ?? (double.TryParse(value.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) ? n : 1);
}
