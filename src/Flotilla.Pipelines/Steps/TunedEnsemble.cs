using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Data;
using Flotilla.Learning.Ensembles;
using Flotilla.Learning.Evaluation;
using Flotilla.Tuning;

namespace Flotilla.Pipelines.Steps;

/// <summary>One chosen member, as the Tune step hands it to the refit: the trial, its family and parameters, its weight.</summary>
public sealed record EnsembleChoiceMember(int Trial, string Algorithm, HyperParameters Parameters, double Weight, double? Score);

/// <summary>
/// The Tune step's ensemble: selection over the run's kept out-of-fold predictions (<see cref="EnsembleSelection"/>),
/// the members' blended out-of-fold probabilities (what the refit chooses the decision threshold on) and the
/// pooled objective of the blend and of the best trial alone. One member means no ensemble.
/// </summary>
public sealed record EnsembleChoice(IReadOnlyList<EnsembleChoiceMember> Members, double[] OutOfFold, double Objective, double BestObjective, int Candidates)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>How many of the best trials keep their out-of-fold predictions for selection when <c>ensembleSize</c> is on.</summary>
    public const int Library = 50;

    public bool IsEnsemble => Members.Count > 1;

    /// <summary>
    /// Chooses up to <paramref name="size"/> picks among the run's kept trials, the best one first; null when the best
    /// trial's out-of-fold predictions were not kept (it was resumed from before a restart).
    /// </summary>
    public static EnsembleChoice? Choose(Table train, TuningResult result, string scorerName, int size, CancellationToken cancellationToken)
    {
        var kept = result.OutOfFold;
        if (kept.Count == 0 || kept[0].Trial.Number != result.Best.Number)
        {
            return null;
        }

        var labels = new bool[train.RowCount];
        for (var r = 0; r < labels.Length; r++)
        {
            labels[r] = train.Label(r);
        }

        var candidates = kept.Select(k => k.Probabilities).ToArray();
        var selection = EnsembleSelection.Select(labels, candidates, Scorer.Parse(scorerName), size, cancellationToken);
        var members = selection.Members
            .Select(i => new EnsembleChoiceMember(kept[i].Trial.Number, kept[i].Trial.Algorithm, kept[i].Trial.Parameters, selection.Weight(i), kept[i].Trial.Mean))
            .ToArray();
        var blend = members.Length > 1 ? selection.Blend(candidates) : [.. candidates[0]];
        return new EnsembleChoice(members, blend, selection.Objective, selection.FirstObjective, kept.Count);
    }

    /// <summary>The members as the Tune step's <c>ensemble</c> output: an empty array when there is no ensemble.</summary>
    public JsonArray ToJson() => IsEnsemble ? JsonSerializer.SerializeToNode(Members, Json)!.AsArray() : [];

    /// <summary>Reads the Train step's <c>ensemble</c> input; throws <see cref="JsonException"/> when it is not a list of members.</summary>
    public static IReadOnlyList<EnsembleChoiceMember> Parse(JsonNode? node) =>
        node is null ? [] : node.Deserialize<EnsembleChoiceMember[]>(Json) ?? [];

    public string Describe(string scorer) => string.Create(CultureInfo.InvariantCulture,
        $"ensemble of {Members.Count} from {Candidates} kept trials: {string.Join(", ", Members.Select(m => $"#{m.Trial} {m.Algorithm} ×{m.Weight:0.###}"))}; out-of-fold {scorer} {Objective:0.####} against {BestObjective:0.####} for the best trial alone");
}
