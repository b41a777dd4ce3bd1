using System.Globalization;
using System.Text;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;

namespace Flotilla.Learning.Tests;

/// <summary>
/// Missing values reach the families that handle them (the forest, LightGBM and the XGBoost slot) as NaN, and the
/// others read them at their training mean; the table, the folds and the learners' views hold primitive columns and
/// index arrays, never per-fold copies.
/// </summary>
public sealed class MissingValueTests
{
    private static readonly string[] Natives = ["RandomForest", "XGBoost", "LightGBM"];
    private static readonly string[] Imputing = ["LogisticRegression", "NaiveBayes", "NeuralNet"];

    /// <summary>
    /// A real CSV whose missing cells say something: <c>income</c> goes missing mostly for positive rows, and its mean
    /// lies among the negative ones, so mean imputation and the trees' own missing direction disagree.
    /// </summary>
    private static Table Informative(int rows, int seed)
    {
        var random = new Random(seed);
        var csv = new StringBuilder("income,age,region,label\n");
        string[] regions = ["north", "south", "east"];
        for (var i = 0; i < rows; i++)
        {
            var positive = random.NextDouble() < 0.4;
            var income = positive ? 60 + random.NextDouble() * 40 : random.NextDouble() * 40;
            var hidden = positive ? random.NextDouble() < 0.7 : random.NextDouble() < 0.05;
            var age = 20 + random.Next(50);
            var region = random.Next(10) == 0 ? "" : regions[random.Next(3)];
            csv.Append(CultureInfo.InvariantCulture, $"{(hidden ? "" : income.ToString("F2", CultureInfo.InvariantCulture))},{(random.Next(12) == 0 ? "NA" : age)},{region},{(positive ? "yes" : "no")}\n");
        }

        return TableReader.Read(new MemoryStream(Encoding.UTF8.GetBytes(csv.ToString())), "informative.csv", new CsvOptions("label"), CancellationToken.None);
    }

    [Fact]
    public void The_families_that_handle_missing_values_see_them_and_the_others_read_them_at_the_mean()
    {
        var (train, test) = Informative(1200, 3).Split(0.25, stratify: true, seed: 3);
        foreach (var name in Natives.Concat(Imputing))
        {
            var bytes = ModelArtifact.Serialize(AlgorithmCatalog.Get(name).Fit(train, HyperParameters.Empty, 3, CancellationToken.None));
            var model = ModelArtifact.Load(bytes, ModelArtifact.Sha256(bytes));
            var mean = (float)model.Schema.Features[0].Imputation;

            var missing = model.PositiveProbability([float.NaN, 40, 0]);
            var atMean = model.PositiveProbability([mean, 40, 0]);

            Assert.Equal(MissingValues.Native, model.Schema.MissingValues);
            if (Natives.Contains(name))
            {
                // Missing income means "probably positive" to a tree that saw the missing cells; the mean means negative.
                Assert.True(missing > atMean + 0.3, $"{name}: P(missing) {missing}, P(mean {mean}) {atMean}");
            }
            else
            {
                Assert.Equal(atMean, missing, 1e-5);
            }

            Assert.True(Evaluator.Evaluate(model, test).Auc > 0.8, name);
        }
    }

    [Fact]
    public void An_artifact_from_before_missing_values_passed_through_still_imputes_them()
    {
        var (train, _) = Informative(600, 4).Split(0.25, stratify: true, seed: 4);
        var model = AlgorithmCatalog.Get("RandomForest").Fit(train, HyperParameters.Empty.With("n_estimators", 50), 4, CancellationToken.None);
        var old = new TrainedModel(model.Schema with { MissingValues = MissingValues.Impute }, model.Metadata, model.Predictor);
        var bytes = ModelArtifact.Serialize(old);

        var header = Encoding.UTF8.GetString(bytes);
        var loaded = ModelArtifact.Load(bytes, ModelArtifact.Sha256(bytes));

        Assert.DoesNotContain("missingValues", header, StringComparison.Ordinal);
        Assert.Contains("\"missingValues\":\"Native\"", Encoding.UTF8.GetString(ModelArtifact.Serialize(model)), StringComparison.Ordinal);
        Assert.Equal(MissingValues.Impute, loaded.Schema.MissingValues);
        var mean = (float)model.Schema.Features[0].Imputation;
        Assert.Equal(loaded.PositiveProbability([mean, 40, 0]), loaded.PositiveProbability([float.NaN, 40, 0]));
    }

    [Fact]
    public void Standardized_rows_encoded_directly_equal_the_encoding_then_the_standardizer_bit_for_bit()
    {
        var data = EncodedData.From(Informative(300, 5));
        var values = new float[data.Schema.Features.Count];
        var direct = new float[data.Width];
        var twoStep = new float[data.Width];
        float[][] rows = [[float.NaN, 30, 1], [55.5f, float.NaN, float.NaN], [12, 41, -1], [float.NaN, float.NaN, 0]];

        foreach (var row in rows.Concat(Enumerable.Range(0, data.Rows).Select(i => { data.View.Read(i, values); return values.ToArray(); })))
        {
            data.StandardizedEncoder.Encode(row, direct);
            data.Schema.Encode(row, twoStep);
            data.Standardizer.Apply(twoStep, twoStep);

            Assert.Equal(twoStep, direct);
            Assert.DoesNotContain(direct, float.IsNaN);
        }
    }

    [Fact]
    public void The_scaled_view_holds_each_row_as_its_standardized_values_plus_mean_over_sd_without_its_zero_slots()
    {
        var data = EncodedData.From(Informative(300, 5));
        var view = data.DataView(ViewEncoding.Scaled, balanced: false);
        var values = new float[data.Schema.Features.Count];
        var z = new float[data.Width];
        var (mean, inverse) = (data.Standardizer.Mean, data.Standardizer.InverseScale);

        // Two passes, as L-BFGS makes one per evaluation: both read the same rows.
        for (var pass = 0; pass < 2; pass++)
        {
            using var cursor = view.GetRowCursor(view.Schema);
            var features = cursor.GetGetter<Microsoft.ML.Data.VBuffer<float>>(view.Schema[MlNet.Features]);
            var row = 0;
            var vector = default(Microsoft.ML.Data.VBuffer<float>);
            while (cursor.MoveNext())
            {
                features(ref vector);
                data.EncodeStandardized(row, values, z);
                var expected = z.Select((v, j) => v + (mean[j] * inverse[j])).ToArray();
                Assert.Equal(expected.Count(v => v != 0), vector.GetValues().Length);
                Assert.DoesNotContain(0f, vector.GetValues().ToArray());
                Assert.Equal(expected, vector.DenseValues().ToArray(), (a, b) => Math.Abs(a - b) <= 1e-5f * Math.Max(1, Math.Abs(a)));
                row++;
            }
            Assert.Equal(data.Rows, row);
        }
    }

    [Fact]
    public void A_table_holds_its_columns_as_primitive_arrays_of_its_row_count()
    {
        var table = Informative(500, 6);

        for (var c = 0; c < table.Columns.Count; c++)
        {
            var store = table.Store(c);
            Assert.True(store.Numbers is not null ^ store.Codes is not null);
            Assert.Equal(table.RowCount, store.Numbers?.Length ?? store.Codes!.Length);
        }

        // What a column keeps is arrays of numbers and codes, nothing per cell (no strings, no boxes).
        Assert.All(typeof(ColumnStore).GetFields(System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public),
            f => Assert.Contains(f.FieldType, new[] { typeof(double[]), typeof(int[]) }));
    }

    [Fact]
    public void Folds_are_index_views_of_the_one_training_table_that_pass_missing_values_through()
    {
        var train = Informative(500, 7);
        var folds = CrossValidation.Prepare(train, 5, 7);
        var seen = new int[train.RowCount];

        for (var f = 0; f < folds.Folds; f++)
        {
            var fold = folds[f];

            Assert.Same(train, fold.Train.View.Table);
            Assert.Same(train, fold.Validation.Table);
            Assert.Equal(train.RowCount, fold.TrainRows.Length + fold.ValidationRows.Length);
            foreach (var r in fold.ValidationRows)
            {
                seen[r]++;
            }

            Assert.True(fold.Train.Statistics.HasMissing[0]);
            Assert.True(fold.Train.Forest.Features[0].HasMissing);
            Assert.Contains(Enumerable.Range(0, fold.Train.Rows), i => float.IsNaN(fold.Train.View.Value(i, 0)));
        }

        Assert.All(seen, count => Assert.Equal(1, count));
    }
}
