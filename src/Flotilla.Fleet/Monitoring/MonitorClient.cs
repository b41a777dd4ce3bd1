using System.Collections.Concurrent;
using Flotilla.Fleet.Aliases;
using Flotilla.Learning.Evaluation;
using Flotilla.Registry;

namespace Flotilla.Fleet.Monitoring;

/// <summary>
/// The monitoring the API reads: drift, feedback and live metrics of a group, merged over every silo of the fleet
/// (one grain call per silo; each silo counts the calls it scored), and with what <see cref="ICapturedFeedback"/>
/// joined to captured calls when the server registers one.
/// </summary>
public sealed class MonitorClient(
    IGrainFactory grains, AliasCache aliases, ModelRegistry registry, LiveMonitor monitor, IEnumerable<ICapturedFeedback> captured) : ILiveModelMetrics
{
    private readonly ICapturedFeedback? _captured = captured.FirstOrDefault();

    private readonly ConcurrentDictionary<string, TrainingProfile?> _profiles = new(StringComparer.Ordinal);

    public MonitoringOptions Options => monitor.Options;

    /// <summary>The drift of the version <paramref name="group"/> serves (its primary route), or why there is none.</summary>
    public async Task<DriftAnswer> DriftAsync(string group, CancellationToken cancellationToken)
    {
        if (!aliases.TryGet(group, out var deployment))
        {
            return new DriftAnswer(null, DriftRefusal.NotDeployed);
        }
        if (await ProfileAsync(deployment.PackageId, cancellationToken) is not { } profile)
        {
            return new DriftAnswer(null, DriftRefusal.NoProfile, deployment.PackageId);
        }
        var silos = await SilosAsync(cancellationToken);
        var parts = await Task.WhenAll(silos.Select(s => grains.GetGrain<IMonitorAgentGrain>(s).GetDriftCountsAsync(deployment.ArtifactSha256)
            .WaitAsync(TimeSpan.FromSeconds(5), cancellationToken)));
        var layout = new DriftLayout(profile);
        var counts = new int[layout.Slots];
        foreach (var part in parts)
        {
            if (part is not null && part.Length == counts.Length)
            {
                for (var i = 0; i < counts.Length; i++)
                {
                    counts[i] += part[i];
                }
            }
        }
        return new DriftAnswer(
            DriftReport.Compute(group, deployment.PackageId, deployment.Version, deployment.ArtifactSha256, profile, counts, monitor.Options, silos.Count),
            null);
    }

    /// <summary>Joins true labels to the group's recent predictions (of any of its versions) on every silo, then the rest to captured ones.</summary>
    public async Task<FeedbackOutcome> FeedbackAsync(string group, IReadOnlyList<FeedbackLabel> labels, CancellationToken cancellationToken)
    {
        var packages = await registry.ListPackagesAsync(group, null, PackageSort.Version, cancellationToken);
        var artifacts = packages.Select(p => p.Artifact.Sha256).Distinct(StringComparer.Ordinal).ToList();
        var silos = await SilosAsync(cancellationToken);
        var joins = await Task.WhenAll(silos.Select(s => grains.GetGrain<IMonitorAgentGrain>(s).JoinAsync(artifacts, labels)
            .WaitAsync(TimeSpan.FromSeconds(10), cancellationToken)));
        var recent = joins.SelectMany(j => j.Joined).ToList();
        var joined = recent.Select(l => (l.RequestId, l.Row)).ToHashSet();
        var invalid = joins.SelectMany(j => j.InvalidLabels).ToList();
        if (_captured is not null)
        {
            var fromCapture = await _captured.JoinAsync(group, recent, [.. labels.Where(l => !joined.Contains((l.RequestId, l.Row)))], cancellationToken);
            joined.UnionWith(fromCapture.Joined.Select(l => (l.RequestId, l.Row)));
            invalid.AddRange(fromCapture.InvalidLabels);
        }
        var unmatched = labels.Where(l => !joined.Contains((l.RequestId, l.Row))).Select(l => l.Row == 0 ? l.RequestId : $"{l.RequestId}#{l.Row}").Distinct().ToList();
        return new FeedbackOutcome(labels.Count, joined.Count, unmatched.Count, [.. unmatched.Take(20)], [.. invalid.Distinct().Take(10)]);
    }

    public async Task<LiveVersionMetrics?> GetAsync(string group, int version, CancellationToken cancellationToken) =>
        (await GetAllAsync(group, cancellationToken)).FirstOrDefault(m => m.Version == version)
        ?? (await registry.GetPackageAsync(ModelRegistry.PackageId(group, version), cancellationToken) is { } package
            ? LiveVersionMetrics.From(version, package.Id, package.Artifact.Sha256, 0, [])
            : null);

    public async Task<IReadOnlyList<LiveVersionMetrics>> GetAllAsync(string group, CancellationToken cancellationToken)
    {
        var packages = await registry.ListPackagesAsync(group, null, PackageSort.Version, cancellationToken);
        if (packages.Count == 0)
        {
            return [];
        }
        var artifacts = packages.Select(p => p.Artifact.Sha256).Distinct(StringComparer.Ordinal).ToList();
        var since = monitor.Time.GetUtcNow().Subtract(monitor.Options.FeedbackWindow).ToUnixTimeMilliseconds();
        var silos = await SilosAsync(cancellationToken);
        var parts = await Task.WhenAll(silos.Select(s => grains.GetGrain<IMonitorAgentGrain>(s).GetOutcomesAsync(artifacts, since)
            .WaitAsync(TimeSpan.FromSeconds(10), cancellationToken)));
        var stored = _captured is null ? [] : await _captured.OutcomesSinceAsync(group, since, cancellationToken);
        var outcomes = parts.SelectMany(p => p.Outcomes).Concat(stored).ToLookup(o => o.Version);
        var calls = parts.SelectMany(p => p.Calls).GroupBy(c => c.Key).ToDictionary(g => g.Key, g => g.Sum(c => c.Value), StringComparer.Ordinal);
        return [.. packages
            .Select(p => LiveVersionMetrics.From((int)p.Version, p.Id, p.Artifact.Sha256, calls.GetValueOrDefault(p.Artifact.Sha256), [.. outcomes[(int)p.Version]]))
            .Where(m => m.Calls > 0 || m.Labelled > 0)
            .OrderByDescending(m => m.Version)];
    }

    /// <summary>A package's training profile: read once, since a version never changes.</summary>
    private async Task<TrainingProfile?> ProfileAsync(string packageId, CancellationToken cancellationToken)
    {
        if (_profiles.TryGetValue(packageId, out var known))
        {
            return known;
        }
        var package = await registry.GetPackageAsync(packageId, cancellationToken);
        var profile = package is null ? null : LiveMonitor.ProfileOf(package);
        if (package is not null)
        {
            _profiles[packageId] = profile;
        }
        return profile;
    }

    private async Task<List<string>> SilosAsync(CancellationToken cancellationToken)
    {
        var hosts = await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).WaitAsync(cancellationToken);
        return [.. hosts.Keys.Select(s => s.ToParsableString())];
    }
}

public enum DriftRefusal
{
    /// <summary>No version of the group is deployed on the endpoint.</summary>
    NotDeployed,

    /// <summary>The deployed version was registered without a training profile.</summary>
    NoProfile,
}

public sealed record DriftAnswer(DriftReport? Report, DriftRefusal? Refusal, string? PackageId = null);

/// <summary>
/// What feedback did: labels received, joined to a remembered prediction, and not joined (an unknown or forgotten
/// request id — the first few listed), and labels that are not one of the model's.
/// </summary>
public sealed record FeedbackOutcome(int Received, int Joined, int Unmatched, IReadOnlyList<string> UnmatchedRequestIds, IReadOnlyList<string> InvalidLabels);
