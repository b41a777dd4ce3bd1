using Flotilla.Fleet.Hosting;
using Flotilla.Fleet.Observability;
using Flotilla.Fleet.Rollout;

namespace Flotilla.Server.Endpoint;

/// <summary>
/// A shadow version's comparison with the answers its group gave (<see cref="Contracts.ShadowView"/>), summed over
/// every silo; differences and latencies are bucket upper bounds.
/// </summary>
internal static class ShadowViews
{
    public static IReadOnlyList<Contracts.ShadowView> Of(IEnumerable<SiloSnapshot> silos) =>
        [.. silos.SelectMany(s => s.Shadows ?? [])
            .GroupBy(s => (s.Group, s.Version))
            .Select(g => From(g.Aggregate((a, b) => a.Add(b))))
            .OrderBy(s => s.Group, StringComparer.Ordinal).ThenBy(s => s.Version)];

    private static Contracts.ShadowView From(ShadowStatsSnapshot s) => new(
        s.Group, s.Version, s.PrimaryVersion, s.Calls, s.Dropped, s.Scored, s.Failed, s.Rows, s.Agreement, s.MeanDifference,
        s.DifferenceQuantile(0.5), s.DifferenceQuantile(0.99),
        LatencyHistogram.QuantileSeconds(s.LatencyCounts, 0.5) * 1000, LatencyHistogram.QuantileSeconds(s.LatencyCounts, 0.99) * 1000);
}
