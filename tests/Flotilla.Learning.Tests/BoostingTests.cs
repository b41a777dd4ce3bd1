using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;

namespace Flotilla.Learning.Tests;

public sealed class BoostingTests
{
    private static readonly BoostingOptions Defaults = new(
        Rounds: 100, LearningRate: 0.1, MaxDepth: 6, MinChildWeight: 1, Subsample: 1, ColumnFraction: 1, Gamma: 0, Alpha: 0, Lambda: 1);

    private static Table Csv(string header, IEnumerable<string> rows) => Tables.Csv(header, rows);

    private static double Score(Predictor predictor, ModelSchema schema, params float[] values)
    {
        var encoded = new float[schema.EncodedWidth];
        schema.Encode(values, encoded);
        return predictor.Probability(encoded);
    }

    /// <summary>Numbers, a text column, missing cells in both, and a label that depends on all three.</summary>
    private static Table Mixed(int rows, int seed)
    {
        var random = new Random(seed);
        string[] towns = ["north", "south", "east", "west", "centre", "port"];
        return Csv("a,town,b,label", Enumerable.Range(0, rows).Select(_ =>
        {
            var a = random.NextDouble();
            var town = random.Next(towns.Length);
            var b = random.NextDouble();
            var missing = random.NextDouble() < 0.1;
            var signal = 2 * a + (town is 1 or 4 ? 1.2 : 0) + (missing ? 0.8 : b) + random.NextDouble() * 1.5;
            var cellB = missing ? "" : b.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            var cellTown = random.NextDouble() < 0.05 ? "" : towns[town];
            return FormattableString.Invariant($"{a:R},{cellTown},{cellB},{(signal > 2.6 ? "yes" : "no")}");
        }));
    }

    [Fact]
    public void The_histogram_engine_is_as_accurate_as_LightGBM_grown_depth_wise()
    {
        // Same defaults, same folds: the engines grow the same kind of trees and should score alike.
        var tables = new[] { ("breast-cancer", Datasets.BreastCancer), ("banknote", Datasets.Banknote), ("mixed", Mixed(2000, 3)) };
        foreach (var (name, table) in tables)
        {
            var folds = CrossValidation.Prepare(table, 5, 42);
            var ours = CrossValidation.Run(new XGBoost(BoostingEngine.Histogram), HyperParameters.Empty, folds, Scorer.RocAuc, null, CancellationToken.None);
            var lightGbm = CrossValidation.Run(new XGBoost(BoostingEngine.LightGbmDepthWise), HyperParameters.Empty, folds, Scorer.RocAuc, null, CancellationToken.None);

            Assert.True(ours.Mean > lightGbm.Mean - 0.005, $"{name}: CV AUC {ours.Mean:F4} against LightGBM's {lightGbm.Mean:F4}");
        }
    }

    [Fact]
    public void The_model_gives_every_training_row_the_margin_boosting_left_it_sampled_or_not()
    {
        // With subsampling, the rows a round left out are routed through its tree by their bins; the model routes them
        // by their values. Both must agree for every row, NaN and categories included.
        var table = Mixed(1500, 8);
        var data = EncodedData.From(table);
        var builder = new BoostingBuilder(data, Defaults with { Rounds = 30, Subsample = 0.6, ColumnFraction = 0.7 });

        var predictor = builder.Build(5, CancellationToken.None);

        var values = new float[data.Schema.Features.Count];
        var encoded = new float[data.Width];
        for (var r = 0; r < data.Rows; r++)
        {
            data.Encode(r, values, encoded, MissingValues.Native);
            Assert.Equal(Predictor.Sigmoid(builder.TrainingMargins[r]), predictor.Probability(encoded), 1e-9);
        }

        Assert.True(predictor.CategoricalNodeCount > 0);
    }

    [Fact]
    public void A_text_column_splits_one_category_from_the_rest_and_a_missing_cell_goes_with_unseen_ones()
    {
        var data = EncodedData.From(Csv("city,label", Enumerable.Range(0, 400).Select(r => (r % 5) switch
        {
            0 => "lyon,yes",
            4 => ",yes",
            var k => $"c{k},no",
        })));

        var predictor = new BoostingBuilder(data, Defaults with { Rounds = 20, MaxDepth = 2 }).Build(1, CancellationToken.None);

        var lyon = Score(predictor, data.Schema, data.Schema.CategoryIndex(0, "lyon"));
        var missing = Score(predictor, data.Schema, float.NaN);
        var unseen = Score(predictor, data.Schema, -1);
        Assert.True(lyon > 0.8, $"lyon {lyon}");
        Assert.True(missing > 0.8, $"missing {missing}");
        Assert.Equal(missing, unseen);
        for (var k = 1; k < 4; k++)
        {
            Assert.True(Score(predictor, data.Schema, data.Schema.CategoryIndex(0, $"c{k}")) < 0.2, $"c{k}");
        }
    }

    [Fact]
    public void Missing_values_go_the_way_the_split_learned()
    {
        var data = EncodedData.From(Tables.MissingWithSmallValues());

        var predictor = new BoostingBuilder(data, Defaults with { Rounds = 20, MaxDepth = 1 }).Build(1, CancellationToken.None);

        Assert.True(Score(predictor, data.Schema, float.NaN) > 0.8);
        Assert.True(Score(predictor, data.Schema, 3) > 0.8);
        Assert.True(Score(predictor, data.Schema, 25) < 0.2);
    }

    [Fact]
    public void Regularization_holds_the_trees_back_as_XGBoost_s_parameters_say()
    {
        var data = EncodedData.From(Mixed(1000, 4));
        TreeEnsemblePredictor Grow(BoostingOptions o) => new BoostingBuilder(data, o).Build(2, CancellationToken.None);
        var free = Grow(Defaults with { Rounds = 5 });

        // max_depth 1: one split a tree at most.
        Assert.True(Grow(Defaults with { Rounds = 5, MaxDepth = 1 }).NodeCount <= 5);
        // A gamma above any gain, or a min_child_weight above half the hessian, leaves every tree a single leaf.
        Assert.Equal(0, Grow(Defaults with { Rounds = 5, Gamma = 1e6 }).NodeCount);
        Assert.Equal(0, Grow(Defaults with { Rounds = 5, MinChildWeight = 1e6 }).NodeCount);
        Assert.True(Grow(Defaults with { Rounds = 5, MinChildWeight = 20 }).NodeCount < free.NodeCount);
        // An L1 penalty above every leaf's gradient sum zeroes every leaf: the model stays at the training log-odds.
        var flat = Grow(Defaults with { Rounds = 5, Alpha = 1e6 });
        var rate = data.Positives / (double)data.Rows;
        Assert.Equal(rate, Score(flat, data.Schema, 0.5f, 0, 0.5f), 1e-9);
    }

    [Fact]
    public void The_same_seed_grows_the_same_model()
    {
        var data = EncodedData.From(Mixed(800, 6));
        var options = Defaults with { Rounds = 20, Subsample = 0.7, ColumnFraction = 0.6 };

        var first = ModelArtifactBytes(new BoostingBuilder(data, options).Build(9, CancellationToken.None));
        var second = ModelArtifactBytes(new BoostingBuilder(data, options).Build(9, CancellationToken.None));
        var other = ModelArtifactBytes(new BoostingBuilder(data, options).Build(10, CancellationToken.None));

        Assert.Equal(first, second);
        Assert.NotEqual(first, other);
    }

    private static byte[] ModelArtifactBytes(Predictor predictor)
    {
        using var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream))
        {
            predictor.Write(writer);
        }

        return stream.ToArray();
    }
}
