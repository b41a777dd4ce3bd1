using System.Buffers;
using System.Text.Json;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Data;

namespace Flotilla.Learning.Artifacts;

/// <summary>
/// One prediction: the label (the user's original value) and the model's probability of that label;
/// <see cref="PositiveProbability"/> is P(positive class) whichever label won.
/// </summary>
public sealed record Prediction(string Label, double Probability)
{
    public double PositiveProbability { get; init; }
}

/// <summary>
/// Sees every row a model scores, in the form <see cref="LoadedModel.Predict(ReadOnlySpan{float})"/> takes, with its
/// P(positive) — the seam through which the endpoint watches live traffic without parsing a row twice.
/// </summary>
public interface IRowObserver
{
    void Observe(ReadOnlySpan<float> values, double positiveProbability);
}

/// <summary>
/// A verified, loaded model. Immutable and safe for any number of concurrent callers: scoring uses only
/// stack buffers and the model's read-only arrays (no ML.NET engine, no pool needed).
/// </summary>
public sealed class LoadedModel
{
    private const int StackLimit = 512;

    [ThreadStatic] private static List<CsvField>? t_fields;

    internal LoadedModel(ModelSchema schema, ModelMetadata metadata, Predictor predictor, string sha256, int artifactBytes)
    {
        Schema = schema;
        Metadata = metadata;
        Predictor = predictor;
        Sha256 = sha256;
        ArtifactBytes = artifactBytes;
        DecisionThreshold = metadata.DecisionThreshold ?? Evaluation.DecisionThreshold.Default;
        _featureIndex = schema.Features.Select((f, i) => (f.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);
        ApproximateBytes = 1024 + predictor.ApproximateBytes +
            schema.Features.Sum(f => 96L + f.Name.Length * 2 + f.Vocabulary.Sum(v => 48L + v.Length * 2));
    }

    private readonly Dictionary<string, int> _featureIndex;

    public ModelSchema Schema { get; }

    public ModelMetadata Metadata { get; }

    internal Predictor Predictor { get; }

    public string Sha256 { get; }

    /// <summary>Size of the artifact file it was loaded from (0 when made in memory).</summary>
    public int ArtifactBytes { get; }

    /// <summary>The cut on P(positive) above which (inclusive) a row gets the positive label: the artifact's, or 0.5.</summary>
    public double DecisionThreshold { get; }

    /// <summary>Estimated managed memory held by this model, for the fleet's memory budget.</summary>
    public long ApproximateBytes { get; }

    /// <summary>
    /// Scores one row given as one float per feature in <see cref="ModelSchema.Features"/> order: the value
    /// of a numeric feature, or for a categorical one its index in the feature's vocabulary (-1 = unseen);
    /// NaN means missing: passed to the predictor, which routes or imputes it (or imputed first, for a model whose
    /// schema predates <see cref="MissingValues.Native"/>).
    /// </summary>
    public Prediction Predict(ReadOnlySpan<float> encodedRow)
    {
        if (encodedRow.Length != Schema.Features.Count)
        {
            throw new InvalidRowException(
                $"row 1: {encodedRow.Length} values, but the model expects {Schema.Features.Count} ({FeatureList()}).");
        }

        return ToPrediction(PositiveProbability(encodedRow));
    }

    /// <summary>P(positive) for one row in the form <see cref="Predict(ReadOnlySpan{float})"/> takes.</summary>
    public double PositiveProbability(ReadOnlySpan<float> encodedRow)
    {
        var width = Schema.EncodedWidth;
        float[]? rented = null;
        var encoded = width <= StackLimit ? stackalloc float[width] : (rented = ArrayPool<float>.Shared.Rent(width)).AsSpan(0, width);
        try
        {
            Schema.Encode(encodedRow, encoded);
            return Predictor.Probability(encoded);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<float>.Shared.Return(rented);
            }
        }
    }

    /// <summary>P(positive) for every row of a table whose columns match the schema by name (extra columns ignored).</summary>
    public double[] PredictProbabilities(Table table) =>
        new FeatureRows(Schema, table, null).Probabilities(Predictor);

    /// <summary>
    /// Scores CSV rows without a header, values by position in <see cref="ModelSchema.Features"/> order.
    /// A first line that repeats the feature names is taken as a header and skipped.
    /// </summary>
    public IReadOnlyList<Prediction> PredictCsv(string csvRowsNoHeader, IRowObserver? observer = null)
    {
        ArgumentNullException.ThrowIfNull(csvRowsNoHeader);
        var tokenizer = new CsvTokenizer(csvRowsNoHeader, ',', "the CSV rows");
        // One list of field slices per thread: this method is synchronous and every call's fields are read before it returns.
        var fields = t_fields ??= new List<CsvField>(64);
        var results = new List<Prediction>();
        var values = Schema.Features.Count <= StackLimit ? stackalloc float[Schema.Features.Count] : new float[Schema.Features.Count];
        var row = 0;
        try
        {
            while (tokenizer.NextRecord(fields))
            {
                if (fields is [{ Length: 0, Quoted: false }])
                {
                    continue;
                }

                row++;
                if (row == 1 && IsHeader(fields, csvRowsNoHeader))
                {
                    row = 0;
                    continue;
                }

                if (fields.Count != Schema.Features.Count)
                {
                    throw new InvalidRowException(
                        $"row {row}: {fields.Count} values, but the model expects {Schema.Features.Count} in this order: {FeatureList()}.");
                }

                for (var f = 0; f < fields.Count; f++)
                {
                    var span = fields[f].Span(csvRowsNoHeader);
                    values[f] = ParseValue(f, fields[f].Quoted ? span : span.Trim(), row);
                }

                var positive = PositiveProbability(values);
                observer?.Observe(values, positive);
                results.Add(ToPrediction(positive));
            }
        }
        catch (DataFormatException e)
        {
            throw new InvalidRowException(e.Message.Replace("the CSV rows, line", "row", StringComparison.Ordinal), e);
        }

        return results.Count > 0 ? results : throw new InvalidRowException("The request holds no rows to score.");
    }

    /// <summary>
    /// Scores JSON rows by name: one object or an array of objects mapping every feature name to a number,
    /// a string or null (missing). The label column, if present, is ignored; any other unknown name is refused.
    /// </summary>
    public IReadOnlyList<Prediction> PredictJson(JsonElement rowsByName, IRowObserver? observer = null)
    {
        var rows = rowsByName.ValueKind switch
        {
            JsonValueKind.Array => rowsByName.EnumerateArray().ToList(),
            JsonValueKind.Object => [rowsByName],
            _ => throw new InvalidRowException($"Rows must be a JSON object or an array of objects, not {rowsByName.ValueKind}."),
        };
        if (rows.Count == 0)
        {
            throw new InvalidRowException("The request holds no rows to score.");
        }

        var results = new List<Prediction>(rows.Count);
        var values = new float[Schema.Features.Count];
        var seen = new bool[Schema.Features.Count];
        for (var r = 0; r < rows.Count; r++)
        {
            var row = r + 1;
            if (rows[r].ValueKind != JsonValueKind.Object)
            {
                throw new InvalidRowException($"row {row}: expected an object of column names to values, not {rows[r].ValueKind}.");
            }

            Array.Clear(seen);
            foreach (var property in rows[r].EnumerateObject())
            {
                if (!_featureIndex.TryGetValue(property.Name, out var f))
                {
                    if (property.Name == Schema.LabelName)
                    {
                        continue;
                    }

                    throw new InvalidRowException(
                        $"row {row}, column '{property.Name}': the model has no such column. Columns: {FeatureList()}.");
                }

                seen[f] = true;
                values[f] = property.Value.ValueKind switch
                {
                    JsonValueKind.Null => float.NaN,
                    JsonValueKind.Number => ParseValue(f, property.Value.GetRawText(), row),
                    JsonValueKind.String => ParseValue(f, property.Value.GetString(), row),
                    JsonValueKind.True => ParseValue(f, "true", row),
                    JsonValueKind.False => ParseValue(f, "false", row),
                    _ => throw new InvalidRowException(
                        $"row {row}, column '{property.Name}': expected a number, a string or null, not {property.Value.ValueKind}."),
                };
            }

            var missing = Array.IndexOf(seen, false);
            if (missing >= 0)
            {
                throw new InvalidRowException(
                    $"row {row}, column '{Schema.Features[missing].Name}': the column is missing (send null for a missing value).");
            }

            var positive = PositiveProbability(values);
            observer?.Observe(values, positive);
            results.Add(ToPrediction(positive));
        }

        return results;
    }

    private float ParseValue(int feature, ReadOnlySpan<char> text, int row)
    {
        if (TableReader.IsMissing(text))
        {
            return float.NaN;
        }

        var spec = Schema.Features[feature];
        if (spec.Kind == ColumnKind.Numeric)
        {
            return TableReader.TryParseNumber(text, out var number)
                ? (float)number
                : throw new InvalidRowException(
                    $"row {row}, column '{spec.Name}': '{text}' is not a number (missing values may be empty, NA, ? or null).");
        }

        return Schema.CategoryIndex(feature, text);
    }

    private bool IsHeader(List<CsvField> fields, string text) => InvocationRows.IsHeader(Schema, fields, text);

    private Prediction ToPrediction(double positive)
    {
        var isPositive = positive >= DecisionThreshold;
        return new Prediction(Schema.LabelMapping[isPositive], isPositive ? positive : 1 - positive) { PositiveProbability = positive };
    }

    private string FeatureList() =>
        Schema.Features.Count <= 12
            ? string.Join(", ", Schema.Features.Select(f => f.Name))
            : string.Join(", ", Schema.Features.Take(12).Select(f => f.Name)) + $", … ({Schema.Features.Count} in all)";
}
