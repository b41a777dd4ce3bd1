using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;

namespace Flotilla.Learning.Tests;

public sealed class ForestTests
{
    // Below the search space's ranges (one tree, depth 1), so through the builder rather than the family.
    private static TreeEnsemblePredictor Grow(EncodedData data, int trees, int maxDepth, bool? subtract = null) =>
        new ForestBuilder(data, trees, false, maxDepth, 2, 1, data.Forest.Count, null, subtract).Build(3, CancellationToken.None);

    private static Table Csv(string header, IEnumerable<string> rows) => Tables.Csv(header, rows);

    // Category k of "c0".."c6"; k == 7 is a missing cell (the forest's "other" bin).
    private static string Category(int k) => k < 7 ? $"c{k}" : "";

    /// <summary>One row as the model's input values, encoded as the model encodes it.</summary>
    private static double Score(Predictor predictor, ModelSchema schema, params float[] values)
    {
        var encoded = new float[schema.EncodedWidth];
        schema.Encode(values, encoded);
        return predictor.Probability(encoded);
    }

    [Fact]
    public void The_larger_childs_histogram_by_subtraction_equals_the_one_built_from_its_rows()
    {
        var random = new Random(5);
        var table = Csv("a,b,c,label", Enumerable.Range(0, 500).Select(r =>
            $"{random.Next(40)},{Category(random.Next(8))},{(random.NextDouble() < 0.1 ? "" : random.NextDouble().ToString("R", System.Globalization.CultureInfo.InvariantCulture))},{(r % 2 == 0 ? "yes" : "no")}"));
        var binned = EncodedData.From(table).Forest;
        const int rows = 500;
        var sample = Enumerable.Range(0, rows).Where(r => r % 3 != 0).ToArray();
        var counts = Enumerable.Range(0, rows).Select(r => 1 + r % 4).ToArray();
        var weights = counts.Select((c, r) => c * (r % 2 == 0 ? 0.7 : 1.9)).ToArray();
        var positives = weights.Select((w, r) => r % 5 == 0 ? w : 0).ToArray();
        var length = binned.Offsets[^1] * ForestHistogram.Stride;
        var parent = new double[length];
        var small = new double[length];
        var direct = new double[length];
        var middle = sample.Length / 3;
        ForestHistogram.BuildAll(binned, sample, 0, sample.Length, weights, positives, counts, parent);
        ForestHistogram.BuildAll(binned, sample, 0, middle, weights, positives, counts, small);
        ForestHistogram.BuildAll(binned, sample, middle, sample.Length, weights, positives, counts, direct);

        var derived = parent.Zip(small, (p, s) => p - s).ToArray();

        Assert.True(binned.Features[1].Categorical);
        Assert.True(binned.Features[2].HasMissing);
        Assert.True(direct.Sum() > 0);
        Assert.Equal(direct.Length, derived.Length);
        for (var i = 0; i < direct.Length; i++)
        {
            Assert.Equal(direct[i], derived[i], 1e-9);
        }

        // One feature's histogram alone is that feature's slice of the histogram of all.
        var one = new double[binned.Features[1].BinCount * ForestHistogram.Stride];
        ForestHistogram.BuildOne(binned, 1, sample, middle, sample.Length, weights, positives, counts, one);
        Assert.Equal(direct.AsSpan(binned.Offsets[1] * ForestHistogram.Stride, one.Length).ToArray(), one);
    }

    [Fact]
    public void One_categorical_split_separates_categories_by_their_positive_rate()
    {
        // Categories 1, 4, 6 and missing cells are positive, 0, 2, 3, 5 negative: no single one-hot slot separates
        // them, one set split does. A category the model never saw goes where missing ones go (the "other" bin).
        int[] positive = [1, 4, 6, 7];
        var data = EncodedData.From(Csv("city,label", Enumerable.Range(0, 400).Select(r => $"{Category(r % 8)},{(positive.Contains(r % 8) ? "yes" : "no")}")));

        var predictor = Grow(data, trees: 1, maxDepth: 1);

        Assert.Equal(1, predictor.NodeCount);
        Assert.Equal(1, predictor.CategoricalNodeCount);
        Assert.Equal(MissingValues.Native, data.Schema.MissingValues);
        for (var category = 0; category < 7; category++)
        {
            Assert.Equal(positive.Contains(category) ? 1.0 : 0.0, Score(predictor, data.Schema, data.Schema.CategoryIndex(0, $"c{category}")));
        }

        Assert.Equal(1.0, Score(predictor, data.Schema, float.NaN));
        Assert.Equal(1.0, Score(predictor, data.Schema, -1));
    }

    [Fact]
    public void Missing_values_go_the_way_the_split_learned()
    {
        var data = EncodedData.From(Tables.MissingWithSmallValues());

        var predictor = Grow(data, trees: 1, maxDepth: 1);

        Assert.Equal(1, predictor.NodeCount);
        Assert.Equal(1.0, Score(predictor, data.Schema, float.NaN));
        Assert.Equal(1.0, Score(predictor, data.Schema, 3));
        Assert.Equal(0.0, Score(predictor, data.Schema, 25));
    }

    [Fact]
    public void Missing_values_alone_can_be_split_from_every_value()
    {
        var data = EncodedData.From(Csv("x,label", Enumerable.Range(0, 200).Select(r => r % 4 == 0 ? ",yes" : $"{r % 50},no")));

        var predictor = Grow(data, trees: 1, maxDepth: 1);

        Assert.Equal(1.0, Score(predictor, data.Schema, float.NaN));
        Assert.Equal(0.0, Score(predictor, data.Schema, 49));
        Assert.Equal(0.0, Score(predictor, data.Schema, 0));
    }

    [Fact]
    public void A_missing_value_the_training_rows_never_had_goes_where_their_mean_goes()
    {
        // Mean 24.25, above the one split between 2 and 30: imputing a NaN would send it with the large values
        // (positive), and so does the tree, where the comparison alone (NaN ≤ t is false) happens to agree; the reverse
        // case below it checks the route, not the comparison.
        var data = EncodedData.From(Csv("x,label", Enumerable.Range(0, 200).Select(r => r % 4 != 0 ? $"{30 + r % 5},yes" : $"{r % 3},no")));
        var reversed = EncodedData.From(Csv("x,label", Enumerable.Range(0, 200).Select(r => r % 4 != 0 ? $"{r % 3},yes" : $"{30 + r % 5},no")));

        var predictor = Grow(data, trees: 1, maxDepth: 1);
        var reversedPredictor = Grow(reversed, trees: 1, maxDepth: 1);

        Assert.False(data.Forest.Features[0].HasMissing);
        Assert.Equal(1.0, Score(predictor, data.Schema, float.NaN));
        Assert.Equal(1.0, Score(reversedPredictor, reversed.Schema, float.NaN));
        Assert.Equal(1.0, Score(reversedPredictor, reversed.Schema, (float)reversed.Schema.Features[0].Imputation));
    }

    private static EncodedData Mixed(int rows, int seed)
    {
        var random = new Random(seed);
        var lines = new List<string>();
        for (var r = 0; r < rows; r++)
        {
            var a = random.NextDouble();
            var b = random.Next(30);
            var c = random.Next(6);
            var missing = random.NextDouble() < 0.1;
            var label = a + b / 30.0 + (c is 1 or 3 ? 0.6 : 0) + random.NextDouble() * 0.5 > 1.3;
            lines.Add($"{(missing ? "" : a.ToString("R", System.Globalization.CultureInfo.InvariantCulture))},{b},{(c < 5 ? $"k{c}" : "")},{(label ? "yes" : "no")}");
        }

        return EncodedData.From(Csv("a,b,c,label", lines));
    }

    private static double[] Score(Predictor predictor, EncodedData data) => data.View.Probabilities(predictor);

    [Fact]
    public void Subtracted_and_directly_built_histograms_grow_the_same_forest()
    {
        var data = Mixed(600, 11);

        var subtracted = Grow(data, 5, 8, subtract: true);
        var direct = Grow(data, 5, 8, subtract: false);

        Assert.Equal(direct.NodeCount, subtracted.NodeCount);
        Assert.True(subtracted.CategoricalNodeCount > 0);
        Assert.Equal(Score(direct, data), Score(subtracted, data), (a, b) => Math.Abs(a - b) < 1e-12);
    }

    [Fact]
    public void Small_nodes_searched_over_their_own_bins_grow_the_same_forest_as_full_scans()
    {
        var data = Mixed(800, 5);
        TreeEnsemblePredictor Forest(bool sparse) =>
            new ForestBuilder(data, 8, false, 12, 2, 1, 2, null, subtract: false, sparseSmallNodes: sparse).Build(9, CancellationToken.None);

        var sparse = Forest(true);
        var full = Forest(false);

        Assert.True(sparse.NodeCount > 100);
        Assert.Equal(full.NodeCount, sparse.NodeCount);
        Assert.Equal(Score(full, data), Score(sparse, data));
    }

    [Fact]
    public void A_forest_with_category_sets_and_NaN_directions_round_trips_and_trees_without_them_keep_the_old_format()
    {
        var data = Mixed(400, 2);
        var routed = Grow(data, trees: 10, maxDepth: 6);
        // Two stumps on slot 0 that send NaN the comparison's way: what ML.NET trees without missing values extract to.
        var plain = new TreeEnsemblePredictor([0, 1], [0, 0], [0.5f, 2f], [~0, ~2], [~1, ~3], [0.1, 0.9, 0.2, 0.8], [0.5, 0.5], 0, 1, 0);

        var (routedBytes, routedBack) = RoundTrip(routed);
        var (plainBytes, plainBack) = RoundTrip(plain);

        Assert.Equal((byte)PredictorKind.RoutedTreeEnsemble, routedBytes[0]);
        Assert.Equal((byte)PredictorKind.TreeEnsemble, plainBytes[0]);
        Assert.Equal(Score(routed, data), Score(routedBack, data));
        foreach (var x in new[] { 0f, 1, 3, float.NaN })
        {
            Assert.Equal(plain.Probability([x]), plainBack.Probability([x]));
        }

        Assert.Equal(routedBytes, RoundTrip(routedBack).Bytes);
    }

    [Fact]
    public void A_row_scored_alone_and_in_a_batch_takes_the_same_category_branches()
    {
        var data = Mixed(400, 5);
        var routed = Grow(data, trees: 10, maxDepth: 6);
        var values = new float[data.Schema.Features.Count];
        var encoded = new float[data.Width];

        var batch = Score(routed, data);

        Assert.True(routed.CategoricalNodeCount > 0);
        for (var i = 0; i < data.Rows; i++)
        {
            data.Encode(i, values, encoded, MissingValues.Native);
            Assert.Equal(batch[i], routed.Probability(encoded));
        }
    }

    [Fact]
    public void A_node_that_names_a_category_split_the_artifact_lacks_is_refused_when_loaded()
    {
        var error = Assert.Throws<ArtifactException>(() => new TreeEnsemblePredictor(
            [0], [0], [0f], [~0], [~1], [0.1, 0.9], [1.0], 0, 1, 0, TreeOutput.Platt, routes: [3], categorySplits: [new CategorySplit(2, 1, false)]));

        Assert.Contains("category split 3 of 1", error.Message);
    }

    private static (byte[] Bytes, Predictor Back) RoundTrip(Predictor predictor)
    {
        using var memory = new MemoryStream();
        using (var writer = new BinaryWriter(memory, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            predictor.Write(writer);
        }

        var bytes = memory.ToArray();
        using var reader = new BinaryReader(new MemoryStream(bytes));
        return (bytes, Predictor.Read(reader));
    }

    [Fact]
    public void A_large_column_is_cut_between_its_distinct_values_and_every_row_lands_in_its_own_bin()
    {
        // Above the size where the values are radix-sorted: negatives, both zeros, repeats in random order, and a second
        // column with more distinct values than bins (cut at quantiles).
        var random = new Random(11);
        var distinct = Enumerable.Range(-100, 200).Select(k => k * 0.37f).ToArray();
        var rows = Enumerable.Range(0, 20_000).Select(r =>
        {
            var value = r % 997 == 0 ? (r % 2 == 0 ? -0f : 0f) : distinct[random.Next(distinct.Length)];
            return (Few: value, Many: (float)(random.NextDouble() * 2000 - 1000));
        }).ToArray();
        var data = EncodedData.From(Csv("few,many,label", rows.Select((row, r) =>
            FormattableString.Invariant($"{row.Few:R},{row.Many:R},{(r % 3 == 0 ? "yes" : "no")}"))));

        var binned = data.Forest;

        var values = distinct.Append(0f).Distinct().Order().ToArray();
        var few = binned.Features[0];
        Assert.Equal(values.Length - 1, few.Thresholds.Length);
        for (var b = 0; b < few.Thresholds.Length; b++)
        {
            Assert.InRange(few.Thresholds[b], values[b], values[b + 1]);
            Assert.NotEqual(values[b + 1], few.Thresholds[b]);
        }

        var many = binned.Features[1];
        Assert.True(many.Thresholds.Zip(many.Thresholds.Skip(1), (a, b) => a < b).All(x => x), "thresholds ascend");
        for (var r = 0; r < rows.Length; r++)
        {
            var value = data.View.Value(r, 0);
            Assert.Equal(values.Count(v => v < value), binned.Bins[r * binned.Count]);
            var other = data.View.Value(r, 1);
            Assert.Equal(many.Thresholds.Count(t => t < other), binned.Bins[r * binned.Count + 1]);
        }
    }
}
