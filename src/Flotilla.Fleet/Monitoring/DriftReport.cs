using System.Text.Json.Serialization;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;

namespace Flotilla.Fleet.Monitoring;

[JsonConverter(typeof(JsonStringEnumConverter<DriftState>))]
public enum DriftState
{
    /// <summary>Too few live rows in the window for PSI to mean anything.</summary>
    Collecting,
    Ok,
    Warn,
    Alert,
}

/// <summary>
/// A deployed version's live traffic against its training profile: per feature the population stability index
/// (PSI = Σ (live − training) · ln(live / training) over its bins and the missing bin, shares floored at 10⁻⁴),
/// the live missing and unseen-category shares, both histograms; the features by PSI; and the same for the score.
/// The group's state is its worst feature's.
/// </summary>
public sealed record DriftReport(
    string Group,
    string PackageId,
    int Version,
    string ArtifactSha256,
    DriftWindowInfo Window,
    DriftState State,
    double WarnPsi,
    double AlertPsi,
    IReadOnlyList<FeatureDrift> Features,
    IReadOnlyList<string> TopDrifted,
    ScoreDrift Score)
{
    private const double Floor = 1e-4;
    private const int TopCount = 5;

    public static DriftReport Compute(
        string group, string packageId, int version, string artifactSha256, TrainingProfile profile, int[] counts,
        MonitoringOptions options, int silos)
    {
        var layout = new DriftLayout(profile);
        var rows = counts.Length == layout.Slots ? counts[layout.RowsSlot] : 0;
        var features = new List<FeatureDrift>(profile.Features.Count);
        for (var f = 0; f < profile.Features.Count; f++)
        {
            var p = profile.Features[f];
            var slots = layout.Features[f];
            var training = new double[p.Bins + 1];
            var live = new double[p.Bins + 1];
            for (var b = 0; b <= p.Bins; b++)
            {
                training[b] = b < p.Bins ? p.Shares[b] : p.MissingShare;
                live[b] = rows == 0 ? 0 : counts[slots.Offset + b] / (double)rows;
            }
            var psi = rows == 0 ? 0 : Psi(training, live);
            features.Add(new FeatureDrift(
                p.Name, p.Kind, Math.Round(psi, 6), StateOf(psi, rows, options),
                p.MissingShare, live[p.Bins], p.UnseenShare, slots.IsCategorical && rows > 0 ? counts[slots.Unseen] / (double)rows : 0,
                BinLabels(p), training[..p.Bins], live[..p.Bins]));
        }

        var scoreTraining = profile.ScoreShares.ToArray();
        var scoreLive = new double[TrainingProfile.ScoreBins];
        for (var b = 0; b < scoreLive.Length; b++)
        {
            scoreLive[b] = rows == 0 ? 0 : counts[layout.ScoreOffset + b] / (double)rows;
        }
        var scorePsi = rows == 0 ? 0 : Psi(scoreTraining, scoreLive);
        var state = rows < options.MinRows ? DriftState.Collecting
            : features.Count == 0 ? DriftState.Ok : features.Max(f => f.State);
        return new DriftReport(
            group, packageId, version, artifactSha256,
            new DriftWindowInfo(options.Window.TotalMinutes, rows, options.MinRows, silos),
            state, options.WarnPsi, options.AlertPsi, features,
            [.. features.Where(f => f.Psi > 0).OrderByDescending(f => f.Psi).Take(TopCount).Select(f => f.Name)],
            new ScoreDrift(Math.Round(scorePsi, 6), StateOf(scorePsi, rows, options), scoreTraining, scoreLive));
    }

    public static double Psi(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual)
    {
        double psi = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            var e = Math.Max(expected[i], Floor);
            var a = Math.Max(actual[i], Floor);
            psi += (a - e) * Math.Log(a / e);
        }
        return psi;
    }

    private static DriftState StateOf(double psi, int rows, MonitoringOptions options) =>
        rows < options.MinRows ? DriftState.Collecting
        : psi > options.AlertPsi ? DriftState.Alert
        : psi > options.WarnPsi ? DriftState.Warn
        : DriftState.Ok;

    private static string[] BinLabels(FeatureProfile p)
    {
        if (p.Kind == ColumnKind.Categorical)
        {
            return [.. p.Categories, "(other)"];
        }
        var labels = new string[p.Bins];
        for (var b = 0; b < p.Bins; b++)
        {
            labels[b] = b == 0 ? (p.Edges.Count == 0 ? "all" : $"< {p.Edges[0]:G4}")
                : b == p.Bins - 1 ? $"≥ {p.Edges[b - 1]:G4}"
                : $"{p.Edges[b - 1]:G4} – {p.Edges[b]:G4}";
        }
        return labels;
    }
}

/// <summary>The window: its length, the live rows in it (summed over <see cref="Silos"/> silos) and the rows PSI needs.</summary>
public sealed record DriftWindowInfo(double Minutes, int Rows, int MinRows, int Silos);

public sealed record FeatureDrift(
    string Name,
    [property: JsonConverter(typeof(JsonStringEnumConverter<ColumnKind>))] ColumnKind Kind,
    double Psi,
    DriftState State,
    double TrainingMissingShare,
    double LiveMissingShare,
    double TrainingUnseenShare,
    double LiveUnseenShare,
    IReadOnlyList<string> Bins,
    IReadOnlyList<double> Training,
    IReadOnlyList<double> Live);

/// <summary>P(positive) in ten equal bins: on the test rows at registration against live.</summary>
public sealed record ScoreDrift(double Psi, DriftState State, IReadOnlyList<double> Training, IReadOnlyList<double> Live);
