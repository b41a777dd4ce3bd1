using Flotilla.Fleet.Aliases;
using Flotilla.Fleet.Autoscaling;
using Flotilla.Fleet.Hosting;
using Flotilla.Fleet.Observability;

namespace Flotilla.Server.Endpoint;

/// <summary>The body of <c>GET /api/endpoint</c>: what the CLI's <c>flotilla endpoint</c> and the UI show.</summary>
internal sealed record EndpointView(
    IReadOnlyList<AliasView> Aliases,
    IReadOnlyList<InstanceView> Instances,
    IReadOnlyList<ModelView> Models,
    EndpointTotals Totals,
    AutoscalerView? Autoscaler = null)
{
    public static EndpointView From(IEnumerable<Deployment> aliases, IReadOnlyList<SiloSnapshot> silos, AutoscaleDecision? autoscaler = null)
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
        return new EndpointView(
            [.. aliases.OrderBy(a => a.Group, StringComparer.Ordinal)
                .Select(a => new AliasView(a.Group, a.PackageId, a.Version, a.ArtifactSha256, a.DeployedAt, a.Policy?.Routes, a.Policy?.StickyHeader))],
            [.. silos.Select(s => new InstanceView(s.Silo, s.Models.Count, s.BytesInUse, s.BudgetBytes,
                [.. s.Models.Select(m => new LoadedView(m.ArtifactSha256, m.Bytes))], s.Error))],
            [.. models.Select(m => ModelView.From(m, [.. groupsOf[m.ArtifactSha256]], [.. loadedOn[m.ArtifactSha256]]))],
            new EndpointTotals(
                silos.Count,
                silos.Sum(s => s.Models.Count),
                silos.Sum(s => s.BytesInUse),
                silos.Sum(s => s.BudgetBytes),
                models.Sum(m => m.Hits),
                models.Sum(m => m.Misses),
                models.Sum(m => m.Loads),
                models.Sum(m => m.Evictions)),
            autoscaler is null ? null : new AutoscalerView(autoscaler.Current, autoscaler.Desired, autoscaler.RatePerInstance, autoscaler.Reason, autoscaler.At));
    }
}

/// <summary>An alias; for a split, <see cref="Routes"/> lists every version with its weight (Version is the heaviest).</summary>
internal sealed record AliasView(
    string Group, string PackageId, int Version, string ArtifactSha256, DateTimeOffset DeployedAt,
    IReadOnlyList<Fleet.Aliases.Route>? Routes, string? StickyHeader);

internal sealed record InstanceView(string Silo, int ModelsLoaded, long BytesInUse, long BudgetBytes, IReadOnlyList<LoadedView> Models, string? Error);

internal sealed record LoadedView(string ArtifactSha256, long Bytes);

internal sealed record ModelView(
    string ArtifactSha256,
    IReadOnlyList<string> Groups,
    IReadOnlyList<string> LoadedOn,
    long Hits,
    long Misses,
    long Loads,
    long LoadFailures,
    long Evictions,
    double LastLoadMilliseconds,
    long Invocations,
    double MeanLatencyMilliseconds,
    double P50LatencyMilliseconds,
    double P99LatencyMilliseconds)
{
    public static ModelView From(ModelStats m, IReadOnlyList<string> groups, IReadOnlyList<string> loadedOn) => new(
        m.ArtifactSha256, groups, loadedOn, m.Hits, m.Misses, m.Loads, m.LoadFailures, m.Evictions,
        m.LastLoadSeconds * 1000,
        m.Invocations,
        m.Invocations == 0 ? 0 : m.LatencySecondsTotal * 1000 / m.Invocations,
        m.LatencyQuantileSeconds(0.5) * 1000,
        m.LatencyQuantileSeconds(0.99) * 1000);
}

internal sealed record EndpointTotals(int Instances, int ModelsLoaded, long BytesInUse, long BudgetBytes, long Hits, long Misses, long Loads, long Evictions);

/// <summary>The autoscaler's latest decision; absent when it is off or has not decided yet.</summary>
internal sealed record AutoscalerView(int Current, int Desired, double RatePerInstance, string Reason, DateTimeOffset At);
