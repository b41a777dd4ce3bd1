using System.Globalization;
using System.Text.Json.Serialization;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;

namespace Flotilla.Learning.Evaluation;

/// <summary>
/// A compact picture of the data a model was trained on, kept with its package so live traffic can be compared
/// with it: per feature the share of rows in each bin (quantile bins for numbers, the most frequent categories
/// and "other" for text) and the share missing; the label balance; and how the model's P(positive) spread over
/// the test rows. Bins are defined on the values a model sees (<see cref="LoadedModel.Predict(ReadOnlySpan{float})"/>'s
/// encoding), so the endpoint bins a live row with <see cref="FeatureProfile.Slot"/> exactly as training was binned.
/// </summary>
public sealed record TrainingProfile(
    int Rows,
    string PositiveLabel,
    double PositiveShare,
    IReadOnlyList<FeatureProfile> Features,
    IReadOnlyList<double> ScoreShares,
    int TestRows)
{
    public const int NumericBins = 10;
    public const int MaxCategories = 20;
    public const int ScoreBins = 10;

    /// <summary>The score bin of P(positive): ten equal-width bins over [0, 1].</summary>
    public static int ScoreSlot(double positive) =>
        double.IsNaN(positive) ? 0 : Math.Clamp((int)(positive * ScoreBins), 0, ScoreBins - 1);

    /// <summary>
    /// Profiles <paramref name="train"/> (the rows <paramref name="model"/> was fit on) and the model's scores on
    /// <paramref name="test"/>; columns are matched to the model's features by name.
    /// </summary>
    public static TrainingProfile Compute(LoadedModel model, Table train, Table test)
    {
        var schema = model.Schema;
        var trainRows = Encode(model, train);
        var features = new FeatureProfile[schema.Features.Count];
        for (var f = 0; f < features.Length; f++)
        {
            features[f] = Profile(schema.Features[f], f, trainRows, train.RowCount);
        }

        var testRows = Encode(model, test);
        var scores = new double[ScoreBins];
        for (var r = 0; r < test.RowCount; r++)
        {
            scores[ScoreSlot(model.PositiveProbability(testRows.AsSpan(r * features.Length, features.Length)))]++;
        }

        var positive = 0;
        for (var r = 0; r < train.RowCount; r++)
        {
            if (train.LabelMapping[train.Label(r)] == schema.LabelMapping.Positive)
            {
                positive++;
            }
        }

        return new TrainingProfile(
            train.RowCount, schema.LabelMapping.Positive, Share(positive, train.RowCount), features,
            [.. scores.Select(s => Share(s, test.RowCount))], test.RowCount);
    }

    private static FeatureProfile Profile(FeatureSpec spec, int f, float[] rows, int rowCount)
    {
        var width = rows.Length / Math.Max(rowCount, 1);
        var values = new List<float>(rowCount);
        var missing = 0;
        for (var r = 0; r < rowCount; r++)
        {
            var v = rows[r * width + f];
            if (float.IsNaN(v))
            {
                missing++;
            }
            else
            {
                values.Add(v);
            }
        }

        FeatureProfile profile;
        if (spec.Kind == ColumnKind.Numeric)
        {
            values.Sort();
            var edges = new SortedSet<double>();
            for (var q = 1; q < NumericBins && values.Count > 0; q++)
            {
                edges.Add(values[Math.Min(values.Count - 1, (int)((long)q * values.Count / NumericBins))]);
            }

            // An edge at the minimum would leave its lower bin empty by construction.
            if (values.Count > 0)
            {
                edges.Remove(values[0]);
            }

            profile = new FeatureProfile(spec.Name, ColumnKind.Numeric, [.. edges], [], [], 0, 0);
        }
        else
        {
            profile = new FeatureProfile(spec.Name, ColumnKind.Categorical, [], [.. spec.Vocabulary.Take(MaxCategories)], [], 0, 0);
        }

        var counts = new double[profile.Bins];
        var unseen = 0;
        foreach (var v in values)
        {
            counts[profile.Slot(v)]++;
            if (spec.Kind == ColumnKind.Categorical && v < 0)
            {
                unseen++;
            }
        }

        return profile with
        {
            Shares = [.. counts.Select(c => Share(c, rowCount))],
            MissingShare = Share(missing, rowCount),
            UnseenShare = Share(unseen, rowCount),
        };
    }

    /// <summary>Every row of <paramref name="table"/> as the model's input values (row-major, one float per feature).</summary>
    private static float[] Encode(LoadedModel model, Table table)
    {
        var features = model.Schema.Features;
        var columns = new int[features.Count];
        for (var f = 0; f < features.Count; f++)
        {
            columns[f] = -1;
            for (var c = 0; c < table.Columns.Count; c++)
            {
                if (table.Columns[c].Name == features[f].Name)
                {
                    columns[f] = c;
                    break;
                }
            }

            if (columns[f] < 0)
            {
                throw new InvalidOperationException($"{table.Source}: there is no column '{features[f].Name}' that the model was trained on.");
            }
        }

        var rows = new float[table.RowCount * features.Count];
        for (var r = 0; r < table.RowCount; r++)
        {
            for (var f = 0; f < features.Count; f++)
            {
                var c = columns[f];
                rows[r * features.Count + f] = table.IsMissing(c, r) ? float.NaN
                    : table.Columns[c].Kind == ColumnKind.Numeric
                        ? (features[f].Kind == ColumnKind.Numeric ? (float)table.Number(c, r) : model.Schema.CategoryIndex(f, table.Number(c, r).ToString(CultureInfo.InvariantCulture)))
                        : (features[f].Kind == ColumnKind.Categorical ? model.Schema.CategoryIndex(f, table.Category(c, r)!) : float.NaN);
            }
        }

        return rows;
    }

    private static double Share(double count, int total) => total == 0 ? 0 : count / total;
}

/// <summary>
/// One feature's training distribution. Numbers: <see cref="Edges"/> cut the values into <c>Edges.Count + 1</c> bins
/// (a value equal to an edge falls in the bin above it). Text: <see cref="Categories"/> are the model's most frequent
/// categories, in its vocabulary's order, and one more bin holds every other value (including ones the model never saw).
/// <see cref="Shares"/> are shares of all rows, so they and <see cref="MissingShare"/> add up to 1;
/// <see cref="UnseenShare"/> is the part of the last text bin outside the model's vocabulary.
/// </summary>
public sealed record FeatureProfile(
    string Name,
    [property: JsonConverter(typeof(JsonStringEnumConverter<ColumnKind>))] ColumnKind Kind,
    IReadOnlyList<double> Edges,
    IReadOnlyList<string> Categories,
    IReadOnlyList<double> Shares,
    double MissingShare,
    double UnseenShare)
{
    /// <summary>How many value bins (missing values are counted apart).</summary>
    [JsonIgnore]
    public int Bins => Kind == ColumnKind.Numeric ? Edges.Count + 1 : Categories.Count + 1;

    /// <summary>
    /// The bin of a value that is not missing, in the model's input encoding: the number itself, or a category's
    /// index in the model's vocabulary (negative when unseen).
    /// </summary>
    public int Slot(float value)
    {
        if (Kind == ColumnKind.Categorical)
        {
            return value >= 0 && value < Categories.Count ? (int)value : Categories.Count;
        }

        // Edges are few (at most nine): walk the list as it is rather than copy it into an array for every value.
        var slot = 0;
        while (slot < Edges.Count && value >= Edges[slot])
        {
            slot++;
        }

        return slot;
    }

    /// <summary>The number of <paramref name="edges"/> at or below <paramref name="value"/>: its bin.</summary>
    public static int NumericSlot(ReadOnlySpan<double> edges, float value)
    {
        // Edges are few (at most nine), so a linear scan beats a search.
        var slot = 0;
        while (slot < edges.Length && value >= edges[slot])
        {
            slot++;
        }

        return slot;
    }
}
