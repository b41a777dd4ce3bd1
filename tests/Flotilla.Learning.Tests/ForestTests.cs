using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;

namespace Flotilla.Learning.Tests;

public sealed class ForestTests
{
    private static readonly LabelMapping Mapping = new("no", "yes");

    private static FeatureSpec Numeric(string name) => new(name, ColumnKind.Numeric, [], 0);

    private static FeatureSpec Categorical(string name, int categories) =>
        new(name, ColumnKind.Categorical, [.. Enumerable.Range(0, categories).Select(c => $"c{c}")], 0);

    // Below the search space's ranges (one tree, depth 1), so through the builder rather than the family.
    private static TreeEnsemblePredictor Grow(EncodedData data, int trees, int maxDepth, bool? subtract = null) =>
        new ForestBuilder(data, trees, false, maxDepth, 2, 1, data.Forest.Count, null, subtract).Build(3, CancellationToken.None);

    // A one-hot row of a categorical feature with `categories` slots (category == categories: none set).
    private static float[] OneHot(int category, int categories)
    {
        var row = new float[categories];
        if (category < categories)
        {
            row[category] = 1;
        }

        return row;
    }

    [Fact]
    public void The_larger_childs_histogram_by_subtraction_equals_the_one_built_from_its_rows()
    {
        var random = new Random(5);
        var schema = new ModelSchema([Numeric("a"), Categorical("b", 7), Numeric("c")], "label", Mapping);
        const int rows = 500;
        var x = new float[rows * schema.EncodedWidth];
        for (var r = 0; r < rows; r++)
        {
            var row = x.AsSpan(r * schema.EncodedWidth, schema.EncodedWidth);
            row[0] = random.Next(40);
            OneHot(random.Next(8), 7).CopyTo(row[1..8]);
            row[8] = random.NextDouble() < 0.1 ? float.NaN : (float)random.NextDouble();
        }

        var binned = ForestFeatures.Build(schema, x, rows, schema.EncodedWidth);
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
        // Categories 1, 4, 6 and unseen ones (no slot set) are positive, 0, 2, 3, 5 negative: no single
        // one-hot slot separates them, one set split does.
        const int categories = 7;
        var schema = new ModelSchema([Categorical("city", categories)], "label", Mapping);
        int[] positive = [1, 4, 6, categories];
        var x = new List<float>();
        var y = new List<bool>();
        for (var r = 0; r < 400; r++)
        {
            var category = r % (categories + 1);
            x.AddRange(OneHot(category, categories));
            y.Add(positive.Contains(category));
        }

        var predictor = Grow(new EncodedData(schema, [.. x], [.. y]), trees: 1, maxDepth: 1);

        Assert.Equal(1, predictor.NodeCount);
        Assert.Equal(1, predictor.CategoricalNodeCount);
        for (var category = 0; category <= categories; category++)
        {
            Assert.Equal(positive.Contains(category) ? 1.0 : 0.0, predictor.Probability(OneHot(category, categories)));
        }
    }

    [Fact]
    public void Missing_values_go_the_way_the_split_learned()
    {
        // Small values and NaN are positive, large values negative: the one perfect split sends NaN left,
        // which the comparison alone (NaN ≤ t is false) would not.
        var schema = new ModelSchema([Numeric("x")], "label", Mapping);
        var x = new List<float>();
        var y = new List<bool>();
        for (var r = 0; r < 300; r++)
        {
            var kind = r % 3;
            x.Add(kind == 0 ? float.NaN : kind == 1 ? r % 10 : 20 + r % 10);
            y.Add(kind != 2);
        }

        var predictor = Grow(new EncodedData(schema, [.. x], [.. y]), trees: 1, maxDepth: 1);

        Assert.Equal(1, predictor.NodeCount);
        Assert.Equal(1.0, predictor.Probability([float.NaN]));
        Assert.Equal(1.0, predictor.Probability([3]));
        Assert.Equal(0.0, predictor.Probability([25]));
    }

    [Fact]
    public void Missing_values_alone_can_be_split_from_every_value()
    {
        var schema = new ModelSchema([Numeric("x")], "label", Mapping);
        float[] x = [.. Enumerable.Range(0, 200).Select(r => r % 4 == 0 ? float.NaN : r % 50)];
        bool[] y = [.. x.Select(float.IsNaN)];

        var predictor = Grow(new EncodedData(schema, x, y), trees: 1, maxDepth: 1);

        Assert.Equal(1.0, predictor.Probability([float.NaN]));
        Assert.Equal(0.0, predictor.Probability([49]));
        Assert.Equal(0.0, predictor.Probability([0]));
    }

    private static EncodedData Mixed(int rows, int seed)
    {
        var random = new Random(seed);
        var schema = new ModelSchema([Numeric("a"), Numeric("b"), Categorical("c", 5)], "label", Mapping);
        var x = new List<float>();
        var y = new List<bool>();
        for (var r = 0; r < rows; r++)
        {
            var a = (float)random.NextDouble();
            var b = random.Next(30);
            var c = random.Next(6);
            x.AddRange([random.NextDouble() < 0.1 ? float.NaN : a, b, .. OneHot(c, 5)]);
            y.Add(a + b / 30.0 + (c is 1 or 3 ? 0.6 : 0) + random.NextDouble() * 0.5 > 1.3);
        }

        return new EncodedData(schema, [.. x], [.. y]);
    }

    private static double[] Score(Predictor predictor, EncodedData data) => predictor.Probabilities(data.X, data.Width);

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
    public void A_forest_with_category_sets_and_NaN_directions_round_trips_and_a_plain_one_keeps_the_old_format()
    {
        var data = Mixed(400, 2);
        var routed = Grow(data, trees: 10, maxDepth: 6);
        var plain = Grow(new EncodedData(new ModelSchema([Numeric("a")], "label", Mapping), [.. data.X.Where((_, i) => i % data.Width == 1)], data.Y), 10, 6);

        var (routedBytes, routedBack) = RoundTrip(routed);
        var (plainBytes, plainBack) = RoundTrip(plain);

        Assert.Equal((byte)PredictorKind.RoutedTreeEnsemble, routedBytes[0]);
        Assert.Equal((byte)PredictorKind.TreeEnsemble, plainBytes[0]);
        Assert.Equal(Score(routed, data), Score(routedBack, data));
        Assert.Equal(plain.Probabilities([1, 7, 29], 1), plainBack.Probabilities([1, 7, 29], 1));
        Assert.Equal(routedBytes, RoundTrip(routedBack).Bytes);
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
}
