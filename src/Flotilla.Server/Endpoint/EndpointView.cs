using Flotilla.Fleet.Aliases;
using Flotilla.Fleet.Autoscaling;
using Flotilla.Fleet.Hosting;
using Flotilla.Fleet.Observability;
using Flotilla.Fleet.Rollout;
using Flotilla.Server.Registry;

namespace Flotilla.Server.Endpoint;

/// <summary>The body of <c>GET /api/endpoint</c> (<see cref="Contracts.EndpointView"/>) from the fleet's aliases, silos and rollouts.</summary>
internal static class EndpointViews
{
    /// <summary><paramref name="homeOf"/> names the silo this server routes a model's calls to (ModelRouter).</summary>
    public static Contracts.EndpointView From(
        IEnumerable<Deployment> aliases, IReadOnlyList<SiloSnapshot> silos, Func<string, string> homeOf, AutoscaleDecision? autoscaler,
        IReadOnlyList<CanaryRollout> rollouts)
    {
        var models = silos
            .SelectMany(s => s.Stats)
            .GroupBy(m => m.ArtifactSha256, StringComparer.Ordinal)
            .Select(g => g.Aggregate((a, b) => a.Add(b)))
            .OrderBy(m => m.ArtifactSha256, StringComparer.Ordinal)
            .ToList();
        var loadedOn = silos
            .SelectMany(s => s.Models.Select(m => (m.ArtifactSha256, s.Silo)))
            .ToLookup(x => x.ArtifactSha256, x => x.Silo, StringComparer.Ordinal);
        // Every version of a split names its group too, so each route's calls and latency read as that version's.
        var groupsOf = aliases
            .SelectMany(a => a.Policy is { } policy ? policy.Routes.Select(r => (r.ArtifactSha256, a.Group)) : new[] { (a.ArtifactSha256, a.Group) })
            .Distinct()
            .ToLookup(x => x.ArtifactSha256, x => x.Group, StringComparer.Ordinal);
        return new Contracts.EndpointView(
            [.. aliases.OrderBy(a => a.Group, StringComparer.Ordinal)
                .Select(a => new Contracts.AliasView(a.Group, a.PackageId, a.Version, a.ArtifactSha256, a.DeployedAt,
                    a.Policy is { } policy ? [.. policy.Routes.Select(r => r.ToContract())] : null, a.Policy?.StickyHeader,
                    a.Policy?.Shadow?.ToContract()))],
            [.. silos.Select(s => new Contracts.InstanceView(s.Silo, s.Models.Count, s.BytesInUse, s.BudgetBytes,
                [.. s.Models.Select(m => new Contracts.LoadedView(m.ArtifactSha256, m.Bytes))], s.Error))],
            [.. models.Select(m => View(m, [.. groupsOf[m.ArtifactSha256]], [.. loadedOn[m.ArtifactSha256]], homeOf(m.ArtifactSha256)))],
            new Contracts.EndpointTotals(
                silos.Count,
                silos.Sum(s => s.Models.Count),
                silos.Sum(s => s.BytesInUse),
                silos.Sum(s => s.BudgetBytes),
                models.Sum(m => m.Hits),
                models.Sum(m => m.Misses),
                models.Sum(m => m.Loads),
                models.Sum(m => m.Evictions)),
            autoscaler is null ? null : new Contracts.AutoscalerView(autoscaler.Current, autoscaler.Desired, autoscaler.RatePerInstance, autoscaler.Reason, autoscaler.At),
            ShadowViews.Of(silos),
            [.. rollouts.Select(r => r.ToContract())]);
    }

    private static Contracts.ModelView View(ModelStats m, IReadOnlyList<string> groups, IReadOnlyList<string> loadedOn, string home) => new(
        m.ArtifactSha256, groups, loadedOn, home, m.Hits, m.Misses, m.Loads, m.LoadFailures, m.Evictions,
        m.LastLoadSeconds * 1000,
        m.Invocations,
        m.Invocations == 0 ? 0 : m.LatencySecondsTotal * 1000 / m.Invocations,
        m.LatencyQuantileSeconds(0.5) * 1000,
        m.LatencyQuantileSeconds(0.99) * 1000,
        m.Failures);
}
