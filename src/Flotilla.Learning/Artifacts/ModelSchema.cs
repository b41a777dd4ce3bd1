using System.Globalization;
using System.Text.Json.Serialization;
using Flotilla.Learning.Data;

namespace Flotilla.Learning.Artifacts;

/// <summary>
/// One input column of a model. Numeric: <see cref="Imputation"/> is the training mean that replaces a
/// missing value. Categorical: <see cref="Vocabulary"/> lists the one-hot encoded categories (the most
/// frequent in training, at most <see cref="ModelSchema.MaxCategories"/>), <see cref="Imputation"/> is the
/// index of the most frequent one, used for a missing value; a category outside the vocabulary encodes as all zeros.
/// </summary>
public sealed record FeatureSpec(
    string Name,
    [property: JsonConverter(typeof(JsonStringEnumConverter<ColumnKind>))] ColumnKind Kind,
    IReadOnlyList<string> Vocabulary,
    double Imputation)
{
    // Value equality over the vocabulary's items, so a loaded schema equals the one that was saved.
    public bool Equals(FeatureSpec? other) =>
        other is not null && Name == other.Name && Kind == other.Kind && Imputation.Equals(other.Imputation) &&
        Vocabulary.SequenceEqual(other.Vocabulary);

    public override int GetHashCode() => HashCode.Combine(Name, Kind, Imputation, Vocabulary.Count);
}

/// <summary>
/// How a model's encoding passes a missing value to its predictor. <see cref="Impute"/> (every model made before
/// missing values passed through) replaces a missing number by its training mean and a missing category by the most
/// frequent one before the predictor sees the row. <see cref="Native"/> passes NaN: a missing number stays NaN and a
/// missing category sets every one of its slots to NaN, so trees route it the way their splits learned and the
/// standardized families read it as the training mean (see docs/decisions.md).
/// </summary>
public enum MissingValues { Impute, Native }

/// <summary>
/// What a model expects as input and how it encodes it: features in order, their types, vocabularies and
/// imputation values, the label mapping to turn a probability back into the user's label, and how a missing value
/// reaches the predictor (<see cref="MissingValues"/>; left out of the file when <see cref="MissingValues.Impute"/>, so
/// older artifacts read unchanged).
/// </summary>
public sealed record ModelSchema(IReadOnlyList<FeatureSpec> Features, string LabelName, LabelMapping LabelMapping)
{
    public const int MaxCategories = 64;

    private int[]? _offsets;
    private Dictionary<string, int>[]? _lookups;

    [JsonConverter(typeof(JsonStringEnumConverter<MissingValues>))]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public MissingValues MissingValues { get; init; }

    /// <summary>Width of the encoded vector the learners see (one slot per numeric feature, one per category).</summary>
    [JsonIgnore]
    public int EncodedWidth => Offsets[^1];

    /// <summary>Offsets[f]: feature f's first encoded slot; Offsets[^1] = <see cref="EncodedWidth"/>.</summary>
    internal int[] Offsets => _offsets ??= ComputeOffsets();

    private Dictionary<string, int>[] Lookups => _lookups ??=
        Features.Select(f => f.Vocabulary.Select((v, i) => (v, i)).ToDictionary(p => p.v, p => p.i, StringComparer.Ordinal)).ToArray();

    private int[] ComputeOffsets()
    {
        var offsets = new int[Features.Count + 1];
        for (var i = 0; i < Features.Count; i++)
        {
            offsets[i + 1] = offsets[i] + (Features[i].Kind == ColumnKind.Numeric ? 1 : Features[i].Vocabulary.Count);
        }

        return offsets;
    }

    /// <summary>The vocabulary index of a category, or -1 when the model never saw it.</summary>
    public int CategoryIndex(int feature, string category) =>
        Lookups[feature].TryGetValue(category, out var index) ? index : -1;

    /// <summary>
    /// The vocabulary index of a category read as a slice of its text, without making a string of it; text the model
    /// never saw that reads as a number is looked up by the number's shortest form. -1 when unseen.
    /// </summary>
    public int CategoryIndex(int feature, ReadOnlySpan<char> category)
    {
        var index = Find(feature, category);
        return index < 0 && TableReader.TryParseNumber(category, out var number) ? CategoryIndex(feature, number) : index;
    }

    /// <summary>
    /// The vocabulary index of a category that reads as a number, found by the number's shortest form: "3.0" and "3"
    /// name the same category when the training column held numbers among strings. -1 when unseen.
    /// </summary>
    public int CategoryIndex(int feature, double number)
    {
        Span<char> text = stackalloc char[32];
        return number.TryFormat(text, out var written, "R", CultureInfo.InvariantCulture) ? Find(feature, text[..written]) : -1;
    }

    private int Find(int feature, ReadOnlySpan<char> category) =>
        Lookups[feature].GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(category, out var index) ? index : -1;

    /// <summary>
    /// Encodes one row given as one value per feature (numeric value, or a category's vocabulary index;
    /// NaN = missing) into the learners' vector of <see cref="EncodedWidth"/> floats, missing values as
    /// <see cref="MissingValues"/> says.
    /// </summary>
    internal void Encode(ReadOnlySpan<float> row, Span<float> encoded) => Encode(row, encoded, MissingValues);

    /// <summary>Encodes one row with missing values imputed or passed through, whatever the schema's own setting.</summary>
    internal void Encode(ReadOnlySpan<float> row, Span<float> encoded, MissingValues missing)
    {
        var offsets = Offsets;
        for (var f = 0; f < Features.Count; f++)
        {
            var spec = Features[f];
            var value = row[f];
            if (spec.Kind == ColumnKind.Numeric)
            {
                encoded[offsets[f]] = float.IsNaN(value) && missing == MissingValues.Impute ? (float)spec.Imputation : value;
                continue;
            }

            var slots = encoded.Slice(offsets[f], offsets[f + 1] - offsets[f]);
            if (float.IsNaN(value) && missing == MissingValues.Native)
            {
                slots.Fill(float.NaN);
                continue;
            }

            slots.Clear();
            var index = float.IsNaN(value) ? (int)spec.Imputation : (int)value;
            if ((uint)index < (uint)slots.Length)
            {
                slots[index] = 1;
            }
        }
    }

    /// <summary>
    /// What imputation would put in each encoded slot for a missing value: a numeric feature's training mean, 1 in the
    /// most frequent category's slot and 0 in the others. A tree trained on imputed rows routes NaN as this value goes.
    /// </summary>
    internal float[] ImputedSlots()
    {
        var slots = new float[EncodedWidth];
        var row = new float[Features.Count];
        row.AsSpan().Fill(float.NaN);
        Encode(row, slots, MissingValues.Impute);
        return slots;
    }

    /// <summary>
    /// Learns the schema (vocabularies, imputation values) from rows <paramref name="rows"/> of a table (every row when
    /// null), reading its columns in place. New schemas pass missing values through (<see cref="MissingValues.Native"/>).
    /// </summary>
    internal static ModelSchema FromRows(Table table, int[]? rows)
    {
        var count = rows?.Length ?? table.RowCount;
        var features = new FeatureSpec[table.Columns.Count];
        for (var c = 0; c < features.Length; c++)
        {
            var column = table.Columns[c];
            var store = table.Store(c);
            if (store.Numbers is { } numbers)
            {
                double sum = 0;
                var present = 0;
                for (var i = 0; i < count; i++)
                {
                    var n = numbers[rows is null ? i : rows[i]];
                    if (!double.IsNaN(n))
                    {
                        sum += n;
                        present++;
                    }
                }

                features[c] = new FeatureSpec(column.Name, ColumnKind.Numeric, [], present == 0 ? 0 : sum / present);
                continue;
            }

            var codes = store.Codes!;
            var frequency = new int[column.Categories.Count];
            for (var i = 0; i < count; i++)
            {
                var code = codes[rows is null ? i : rows[i]];
                if (code >= 0)
                {
                    frequency[code]++;
                }
            }

            // Most frequent first; ties by first appearance, so the vocabulary is deterministic.
            var vocabulary = Enumerable.Range(0, frequency.Length)
                .Where(i => frequency[i] > 0)
                .OrderByDescending(i => frequency[i]).ThenBy(i => i)
                .Take(MaxCategories)
                .Select(i => column.Categories[i])
                .ToArray();
            features[c] = new FeatureSpec(column.Name, ColumnKind.Categorical, vocabulary, 0);
        }

        return new ModelSchema(features, table.LabelName, table.LabelMapping) { MissingValues = MissingValues.Native };
    }
}
