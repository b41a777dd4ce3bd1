using System.Text.Json.Serialization;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Data;

namespace Flotilla.Learning.Artifacts;

/// <summary>
/// What an artifact records about how a model was made. <see cref="CrossValidationScore"/> is the tuner's
/// mean fold score (higher is better, see <see cref="Evaluation.Scorer"/>), null when the model was fit without CV.
/// <see cref="DecisionThreshold"/> is the cut on P(positive) its labels use and <see cref="DecisionThresholdRule"/>
/// how it was chosen (see <see cref="Evaluation.DecisionThreshold"/>); both are left out of the file when unset, so
/// artifacts made before thresholds were chosen keep their bytes and load with 0.5.
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

    /// <summary>The same model with other metadata (e.g. the hash of the dataset before the split).</summary>
    public TrainedModel WithMetadata(ModelMetadata metadata) => new(Schema, metadata, Predictor);

    /// <summary>P(positive) for every row of a table whose columns match the schema by name.</summary>
    public double[] PredictProbabilities(Table table) =>
        Predictor.Probabilities(Schema.EncodeTable(table), Schema.EncodedWidth);

    /// <summary>A scorer over this model without a serialize/load round trip.</summary>
    public LoadedModel ToLoaded(string sha256 = "") => new(Schema, Metadata, Predictor, sha256, 0);
}
