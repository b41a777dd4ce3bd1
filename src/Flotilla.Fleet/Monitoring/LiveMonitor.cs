using System.Collections.Concurrent;
using System.Text.Json;
using Flotilla.Fleet.Aliases;
using Flotilla.Fleet.Models;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Evaluation;
using Flotilla.Registry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Flotilla.Fleet.Monitoring;

/// <summary>
/// This silo's watch over the models it scores: for each, a <see cref="DriftWindow"/> (once its package's training
/// profile is read from the registry, off the hot path), the <see cref="RecentPredictions"/> feedback joins with,
/// and the <see cref="LabelledOutcomes"/> live accuracy is computed from. Calls are counted where they are scored,
/// so across a cluster every call is counted once, on the silo that holds its model.
/// </summary>
public sealed partial class LiveMonitor(
    AliasCache aliases, ModelRegistry registry, IOptions<MonitoringOptions> options, TimeProvider time, ILogger<LiveMonitor> logger)
{
    private static readonly TimeSpan ProfileRetry = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<string, ModelWatch> _watches = new(StringComparer.Ordinal);
    private readonly MonitoringOptions _options = options.Value;

    public MonitoringOptions Options => _options;

    public TimeProvider Time => time;

    /// <summary>The watch of <paramref name="model"/>, made on its first call here; null once the silo watches as many models as it may.</summary>
    public ModelWatch? Watch(LoadedModel model)
    {
        if (!_watches.TryGetValue(model.Sha256, out var watch))
        {
            if (_watches.Count >= _options.MaxWatchedModels)
            {
                return null;
            }
            watch = _watches.GetOrAdd(model.Sha256, _ => new ModelWatch(model, _options));
        }
        if (watch.Drift is null && watch.ProfileDue(time.GetTimestamp()))
        {
            _ = LoadProfileAsync(watch);
        }
        return watch;
    }

    public bool TryGet(string artifactSha256, out ModelWatch watch) => _watches.TryGetValue(artifactSha256, out watch!);

    /// <summary>The training profile stored with a package's evaluation report, or null when it has none (registered before profiles).</summary>
    public static TrainingProfile? ProfileOf(ModelPackage package) =>
        package.EvaluationReport.ValueKind == JsonValueKind.Object && package.EvaluationReport.TryGetProperty("profile", out var profile)
            ? profile.Deserialize<TrainingProfile>(EvaluationReport.JsonOptions)
            : null;

    private async Task LoadProfileAsync(ModelWatch watch)
    {
        try
        {
            var packageId = PackageOf(watch.ArtifactSha256);
            var package = packageId is null ? null : await registry.GetPackageAsync(packageId, CancellationToken.None);
            var profile = package is null ? null : ProfileOf(package);
            if (profile is not null && profile.Features.Count == watch.FeatureCount)
            {
                watch.Drift = new DriftWindow(profile, _options, time);
                return;
            }
            // Not deployed (yet), or registered without a profile: try again later, never on every call.
            watch.RetryProfileAfter(time.GetTimestamp() + (long)(ProfileRetry.TotalSeconds * time.TimestampFrequency));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogProfileFailed(logger, watch.ArtifactSha256, e);
            watch.RetryProfileAfter(time.GetTimestamp() + (long)(ProfileRetry.TotalSeconds * time.TimestampFrequency));
        }
    }

    private string? PackageOf(string artifactSha256)
    {
        if (aliases.TryGetByArtifact(artifactSha256, out var deployment))
        {
            return deployment.PackageId;
        }
        foreach (var d in aliases.All)
        {
            foreach (var r in d.Policy?.Routes ?? [])
            {
                if (r.ArtifactSha256 == artifactSha256)
                {
                    return r.PackageId;
                }
            }
        }
        return null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the training profile of model {Sha256} failed; drift is not measured for it until a retry succeeds")]
    private static partial void LogProfileFailed(ILogger logger, string sha256, Exception exception);
}

/// <summary>One model's live state on one silo. Written by every scoring thread at once, without locks.</summary>
public sealed class ModelWatch
{
    private DriftWindow? _drift;
    private long _profileDue;
    private long _calls;

    internal ModelWatch(LoadedModel model, MonitoringOptions options)
    {
        ArtifactSha256 = model.Sha256;
        FeatureCount = model.Schema.Features.Count;
        PositiveLabel = model.Schema.LabelMapping.Positive;
        NegativeLabel = model.Schema.LabelMapping.Negative;
        DecisionThreshold = model.DecisionThreshold;
        Recent = new RecentPredictions(options.RecentPredictions);
        Outcomes = new LabelledOutcomes(options.LabelledOutcomes);
    }

    public string ArtifactSha256 { get; }

    public int FeatureCount { get; }

    public string PositiveLabel { get; }

    public string NegativeLabel { get; }

    public double DecisionThreshold { get; }

    /// <summary>Null until the training profile has been read (or when the package has none).</summary>
    public DriftWindow? Drift
    {
        get => Volatile.Read(ref _drift);
        internal set => Volatile.Write(ref _drift, value);
    }

    public RecentPredictions Recent { get; }

    public LabelledOutcomes Outcomes { get; }

    /// <summary>Rows scored here since the silo started.</summary>
    public long Calls => Volatile.Read(ref _calls);

    /// <summary>Records an answered call's rows for feedback.</summary>
    public void Scored(InvocationRequest request, IReadOnlyList<Prediction> predictions, long timeMs)
    {
        Interlocked.Add(ref _calls, predictions.Count);
        if (request.RequestId is not { } requestId)
        {
            return;
        }
        var version = request.Version ?? 0;
        for (var row = 0; row < predictions.Count; row++)
        {
            var positive = predictions[row].PositiveProbability;
            Recent.Add(requestId, row, version, positive, positive >= DecisionThreshold, timeMs);
        }
    }

    /// <summary>Whether the profile should be read now; true for one caller at a time.</summary>
    internal bool ProfileDue(long timestamp)
    {
        var due = Volatile.Read(ref _profileDue);
        return due >= 0 && timestamp >= due && Interlocked.CompareExchange(ref _profileDue, -1, due) == due;
    }

    internal void RetryProfileAfter(long timestamp) => Volatile.Write(ref _profileDue, timestamp);
}
