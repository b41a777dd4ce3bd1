using Flotilla.Fleet.Hosting;
using Orleans.GrainDirectory;

namespace Flotilla.Fleet.Monitoring;

/// <summary>
/// One per silo (keyed by its address, like <see cref="ISiloAgentGrain"/>): reads and labels what that silo's
/// <see cref="LiveMonitor"/> holds, so a route on any server can merge what every silo saw.
/// </summary>
public interface IMonitorAgentGrain : IGrainWithStringKey
{
    /// <summary>The window's counters for a model (layout of its profile), or null when this silo has none for it.</summary>
    Task<int[]?> GetDriftCountsAsync(string artifactSha256);

    /// <summary>Labels the predictions of <paramref name="artifacts"/> named in <paramref name="labels"/> that this silo remembers.</summary>
    Task<FeedbackJoin> JoinAsync(IReadOnlyList<string> artifacts, IReadOnlyList<FeedbackLabel> labels);

    /// <summary>Labelled predictions of <paramref name="artifacts"/> made since <paramref name="sinceMs"/>, and rows scored here per artifact.</summary>
    Task<LiveOutcomes> GetOutcomesAsync(IReadOnlyList<string> artifacts, long sinceMs);
}

/// <summary>A true label for one row of an answered call (<see cref="Row"/> 0 for a one-row call).</summary>
[GenerateSerializer, Immutable]
public sealed record FeedbackLabel([property: Id(0)] string RequestId, [property: Id(1)] int Row, [property: Id(2)] string Label);

/// <summary>What one silo joined: the labels it matched, and why others could not be (a label that is not one of the model's).</summary>
[GenerateSerializer, Immutable]
public sealed record FeedbackJoin(
    [property: Id(0)] IReadOnlyList<FeedbackLabel> Joined,
    [property: Id(1)] IReadOnlyList<string> InvalidLabels);

[GenerateSerializer, Immutable]
public sealed record LiveOutcomes(
    [property: Id(0)] IReadOnlyList<LabelledOutcome> Outcomes,
    [property: Id(1)] IReadOnlyDictionary<string, long> Calls);

[SiloTargetedPlacement, GrainDirectory(PinnedGrainDirectory.Name)]
internal sealed class MonitorAgentGrain(IGrainContext context, LiveMonitor monitor) : IGrainBase, IMonitorAgentGrain
{
    public IGrainContext GrainContext => context;

    public Task<int[]?> GetDriftCountsAsync(string artifactSha256) =>
        Task.FromResult(monitor.TryGet(artifactSha256, out var watch) ? watch.Drift?.Counts() : null);

    public Task<FeedbackJoin> JoinAsync(IReadOnlyList<string> artifacts, IReadOnlyList<FeedbackLabel> labels)
    {
        var joined = new List<FeedbackLabel>();
        var invalid = new SortedSet<string>(StringComparer.Ordinal);
        var byKey = labels.GroupBy(l => new RecentPredictions.Key(l.RequestId, l.Row)).ToDictionary(g => g.Key, g => g.Last());
        foreach (var sha in artifacts.Distinct(StringComparer.Ordinal))
        {
            if (!monitor.TryGet(sha, out var watch))
            {
                continue;
            }
            var wanted = new Dictionary<RecentPredictions.Key, bool>();
            foreach (var (key, label) in byKey)
            {
                if (Matches(label.Label, watch.PositiveLabel))
                {
                    wanted[key] = true;
                }
                else if (Matches(label.Label, watch.NegativeLabel))
                {
                    wanted[key] = false;
                }
                else
                {
                    invalid.Add($"'{Clip(label.Label)}' is not one of the model's labels ({watch.PositiveLabel}, {watch.NegativeLabel})");
                }
            }
            foreach (var (key, outcome) in watch.Recent.Label(wanted))
            {
                watch.Outcomes.Add(outcome);
                joined.Add(byKey[key]);
                byKey.Remove(key);
            }
        }
        return Task.FromResult(new FeedbackJoin(joined, [.. invalid]));
    }

    public Task<LiveOutcomes> GetOutcomesAsync(IReadOnlyList<string> artifacts, long sinceMs)
    {
        var outcomes = new List<LabelledOutcome>();
        var calls = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var sha in artifacts.Distinct(StringComparer.Ordinal))
        {
            if (monitor.TryGet(sha, out var watch))
            {
                outcomes.AddRange(watch.Outcomes.Since(sinceMs));
                calls[sha] = watch.Calls;
            }
        }
        return Task.FromResult(new LiveOutcomes(outcomes, calls));
    }

    private static bool Matches(string given, string label) =>
        string.Equals(given.Trim(), label, StringComparison.OrdinalIgnoreCase);

    private static string Clip(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
