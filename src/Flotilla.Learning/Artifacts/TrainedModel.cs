using System.Text.Json.Serialization;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Data;

namespace Flotilla.Learning.Artifacts;

/// <summary>
/// What an artifact records about how a model was made. <see cref="CrossValidationScore"/> is the tuner's
/// mean fold score (higher is better, see <see cref="Evaluation.Scorer"/>), null when the model was fit without CV.
/// <see cref="DecisionThreshold"/> is the cut on P(positive) its labels use and <see cref="DecisionThresholdRule"/>
/// how it was chosen (see <see cref="Evaluation.DecisionThreshold"/>); both are left out of the file when unset, so
/// artifacts made before thresholds were chosen keep their bytes and load with 0.5. <see cref="Members"/> lists an
/// ensemble's members (its <see cref="Algorithm"/> is <see cref="TrainedModel.EnsembleAlgorithm"/>), null otherwise.
/// </summary>
public sealed record ModelMetadata(
    string Algorithm,
    HyperParameters HyperParameters,
    double? CrossValidationScore,
    string? CrossValidationScorer,
    string DatasetSha256,
    int TrainingRows,
    int Seed,
    IReadOnlyDictionary<string, string> LibraryVersions)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? DecisionThreshold { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? DecisionThresholdRule { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<EnsembleMember>? Members { get; init; }
}

/// <summary>A fitted model with its input schema and metadata, ready to evaluate or serialize.</summary>
public sealed class TrainedModel
{
    internal TrainedModel(ModelSchema schema, ModelMetadata metadata, Predictor predictor)
    {
        Schema = schema;
        Metadata = metadata;
        Predictor = predictor;
    }

    public ModelSchema Schema { get; }

    public ModelMetadata Metadata { get; }

    internal Predictor Predictor { get; }

    /// <summary>Estimated memory of the fitted model in bytes.</summary>
    public long ApproximateBytes => Predictor.ApproximateBytes + Schema.Features.Sum(f => 64L + f.Name.Length * 2 + f.Vocabulary.Sum(v => 32L + v.Length * 2));

    /// <summary>The same model with the tuner's cross-validation score recorded.</summary>
    public TrainedModel WithCrossValidation(double score, string scorer) =>
        new(Schema, Metadata with { CrossValidationScore = score, CrossValidationScorer = scorer }, Predictor);

    /// <summary>The same model labelling rows positive when P(positive) ≥ <paramref name="threshold"/>, chosen by <paramref name="rule"/>.</summary>
    public TrainedModel WithDecisionThreshold(double threshold, string rule)
    {
        if (!(threshold is > 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "A decision threshold lies strictly between 0 and 1.");
        }
        return new(Schema, Metadata with { DecisionThreshold = threshold, DecisionThresholdRule = rule }, Predictor);
    }

    /// <summary>What an ensemble's metadata names as its algorithm.</summary>
    public const string EnsembleAlgorithm = "Ensemble";

    /// <summary>
    /// One model scoring the weighted mean of <paramref name="members"/>' P(positive). The members must have been
    /// fitted on the same training table (equal schemas); weights are normalised to sum to 1. One member is returned
    /// as it is, so an "ensemble" of one model is byte for byte that model.
    /// </summary>
    public static TrainedModel Combine(IReadOnlyList<(TrainedModel Model, double Weight, int? Trial, double? Score)> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        if (members.Count == 0)
        {
            throw new ArgumentException("An ensemble needs at least one member.", nameof(members));
        }

        if (members.Count == 1)
        {
            return members[0].Model;
        }

        var first = members[0].Model;
        var mismatch = members.FirstOrDefault(m => !SameSchema(m.Model.Schema, first.Schema));
        if (mismatch.Model is not null)
        {
            throw new ArgumentException($"Ensemble members must share one input schema; {mismatch.Model.Metadata.Algorithm} was fitted on other columns.", nameof(members));
        }

        var total = members.Sum(m => m.Weight);
        if (!(total > 0) || members.Any(m => !(m.Weight > 0)))
        {
            throw new ArgumentException("Ensemble weights must be positive.", nameof(members));
        }

        var weights = members.Select(m => m.Weight / total).ToArray();
        var predictor = new EnsemblePredictor([.. members.Select(m => m.Model.Predictor)], weights);
        var listed = members.Select((m, i) => new EnsembleMember(m.Model.Metadata.Algorithm, m.Model.Metadata.HyperParameters, weights[i])
        {
            Trial = m.Trial,
            CrossValidationScore = m.Score,
        }).ToArray();
        var metadata = first.Metadata with
        {
            Algorithm = EnsembleAlgorithm,
            HyperParameters = HyperParameters.Empty,
            CrossValidationScore = null,
            CrossValidationScorer = null,
            DecisionThreshold = null,
            DecisionThresholdRule = null,
            Members = listed,
        };
        return new TrainedModel(first.Schema, metadata, predictor);
    }

    private static bool SameSchema(ModelSchema a, ModelSchema b) =>
        a.LabelName == b.LabelName && a.LabelMapping.Equals(b.LabelMapping) && a.MissingValues == b.MissingValues && a.Features.SequenceEqual(b.Features);

    /// <summary>The same model with other metadata (e.g. the hash of the dataset before the split).</summary>
    public TrainedModel WithMetadata(ModelMetadata metadata) => new(Schema, metadata, Predictor);

    /// <summary>P(positive) for every row of a table whose columns match the schema by name.</summary>
    public double[] PredictProbabilities(Table table) =>
        new FeatureRows(Schema, table, null).Probabilities(Predictor);

    /// <summary>A scorer over this model without a serialize/load round trip.</summary>
    public LoadedModel ToLoaded(string sha256 = "") => new(Schema, Metadata, Predictor, sha256, 0);
}
