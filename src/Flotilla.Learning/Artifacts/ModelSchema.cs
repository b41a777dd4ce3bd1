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
/// What a model expects as input and how it encodes it: features in order, their types, vocabularies and
/// imputation values, and the label mapping to turn a probability back into the user's label.
/// </summary>
public sealed record ModelSchema(IReadOnlyList<FeatureSpec> Features, string LabelName, LabelMapping LabelMapping)
{
    public const int MaxCategories = 64;

    private int[]? _offsets;
    private Dictionary<string, int>[]? _lookups;

    /// <summary>Width of the encoded vector the learners see (one slot per numeric feature, one per category).</summary>
    [JsonIgnore]
    public int EncodedWidth => Offsets[^1];

    private int[] Offsets => _offsets ??= ComputeOffsets();

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
    /// Encodes one row given as one value per feature (numeric value, or a category's vocabulary index;
    /// NaN = missing) into the learners' vector of <see cref="EncodedWidth"/> floats.
    /// </summary>
    internal void Encode(ReadOnlySpan<float> row, Span<float> encoded)
    {
        var offsets = Offsets;
        for (var f = 0; f < Features.Count; f++)
        {
            var spec = Features[f];
            var value = row[f];
            if (spec.Kind == ColumnKind.Numeric)
            {
                encoded[offsets[f]] = float.IsNaN(value) ? (float)spec.Imputation : value;
                continue;
            }

            var slots = encoded.Slice(offsets[f], offsets[f + 1] - offsets[f]);
            slots.Clear();
            var index = float.IsNaN(value) ? (int)spec.Imputation : (int)value;
            if ((uint)index < (uint)slots.Length)
            {
                slots[index] = 1;
            }
        }
    }

    /// <summary>Learns the schema (vocabularies, imputation values) from a training table.</summary>
    internal static ModelSchema FromTable(Table train)
    {
        var features = new FeatureSpec[train.Columns.Count];
        for (var c = 0; c < features.Length; c++)
        {
            var column = train.Columns[c];
            var store = train.Store(c);
            if (store.Numbers is { } numbers)
            {
                double sum = 0;
                var count = 0;
                foreach (var n in numbers)
                {
                    if (!double.IsNaN(n))
                    {
                        sum += n;
                        count++;
                    }
                }

                features[c] = new FeatureSpec(column.Name, ColumnKind.Numeric, [], count == 0 ? 0 : sum / count);
                continue;
            }

            var frequency = new int[column.Categories.Count];
            foreach (var code in store.Codes!)
            {
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

        return new ModelSchema(features, train.LabelName, train.LabelMapping);
    }

    /// <summary>
    /// Encodes every row of a table (matched to the features by column name) into a row-major matrix of
    /// <see cref="EncodedWidth"/> columns.
    /// </summary>
    internal float[] EncodeTable(Table table)
    {
        var width = EncodedWidth;
        var matrix = new float[table.RowCount * width];
        var rowValues = new float[Features.Count];
        var sources = new int[Features.Count];
        var maps = new int[Features.Count][];
        for (var f = 0; f < Features.Count; f++)
        {
            var name = Features[f].Name;
            sources[f] = IndexOf(table, name);
            maps[f] = CategoryMap(table, f, sources[f]);
        }

        for (var r = 0; r < table.RowCount; r++)
        {
            for (var f = 0; f < Features.Count; f++)
            {
                rowValues[f] = Value(table, f, sources[f], maps[f], r);
            }

            Encode(rowValues, matrix.AsSpan(r * width, width));
        }

        return matrix;
    }

    private static int IndexOf(Table table, string name)
    {
        for (var c = 0; c < table.Columns.Count; c++)
        {
            if (table.Columns[c].Name == name)
            {
                return c;
            }
        }

        throw new DataFormatException(
            $"{table.Source}: the model needs column '{name}', which the table does not have. Columns: {string.Join(", ", table.Columns.Select(c => c.Name))}.");
    }

    // For a categorical feature read as categorical: table code → vocabulary index (-1 unknown).
    private int[] CategoryMap(Table table, int feature, int column)
    {
        if (Features[feature].Kind != ColumnKind.Categorical || table.Columns[column].Kind != ColumnKind.Categorical)
        {
            return [];
        }

        return table.Columns[column].Categories.Select(c => CategoryIndex(feature, c)).ToArray();
    }

    private float Value(Table table, int feature, int column, int[] map, int row)
    {
        var store = table.Store(column);
        if (Features[feature].Kind == ColumnKind.Numeric)
        {
            if (store.Numbers is { } numbers)
            {
                return (float)numbers[row];
            }

            var code = store.Codes![row];
            return code >= 0 && TableReader.TryParseNumber(table.Columns[column].Categories[code], out var parsed) ? (float)parsed : float.NaN;
        }

        if (store.Codes is { } codes)
        {
            return codes[row] < 0 ? float.NaN : map[codes[row]];
        }

        // A column numeric in this table but categorical in training: look the number up as text.
        var number = store.Numbers![row];
        return double.IsNaN(number) ? float.NaN : CategoryIndex(feature, number.ToString("R", CultureInfo.InvariantCulture));
    }
}
