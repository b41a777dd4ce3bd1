using System.Buffers.Binary;
using System.Text.Json;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;

namespace Flotilla.Learning.Tests;

public sealed class ArtifactTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private static (byte[] Bytes, string Sha) Save(TrainedModel model)
    {
        var bytes = ModelArtifact.Serialize(model);
        return (bytes, ModelArtifact.Sha256(bytes));
    }

    private TrainedModel MixedModel(string algorithm = "LogisticRegression")
    {
        var lines = new List<string> { "age,city,income,label" };
        var random = new Random(9);
        string[] cities = ["Oslo", "Rome", "Lima, PE"];
        for (var i = 0; i < 200; i++)
        {
            var city = cities[random.Next(3)];
            var age = 20 + random.Next(50);
            lines.Add(FormattableString.Invariant($"{(i % 17 == 0 ? "?" : age)},\"{city}\",{random.Next(1000)},{(age > 45 || city == "Rome" ? ">50K" : "<=50K")}"));
        }

        var table = TableReader.Read(_folder.Write("adult.csv", string.Join("\n", lines)), new CsvOptions("label"), CancellationToken.None);
        return AlgorithmCatalog.Get(algorithm).Fit(table, HyperParameters.Empty, 1, CancellationToken.None);
    }

    [Fact]
    public void Every_family_round_trips_with_identical_predictions_and_metadata()
    {
        var (train, test) = Datasets.Banknote.Split(0.2, true, 42);
        foreach (var algorithm in AlgorithmCatalog.All)
        {
            var hp = algorithm.Name == "RandomForest" ? HyperParameters.Empty.With("n_estimators", 50) : HyperParameters.Empty;
            var model = algorithm.Fit(train, hp, 42, CancellationToken.None).WithCrossValidation(0.987, "roc_auc");
            var (bytes, sha) = Save(model);

            var loaded = ModelArtifact.Load(bytes, sha);

            Assert.Equal(sha, loaded.Sha256);
            Assert.Equal(model.Metadata.HyperParameters, loaded.Metadata.HyperParameters);
            Assert.Equal(0.987, loaded.Metadata.CrossValidationScore);
            Assert.Equal(train.Sha256, loaded.Metadata.DatasetSha256);
            Assert.Contains("Microsoft.ML", loaded.Metadata.LibraryVersions.Keys);
            Assert.Equal(model.Schema.Features, loaded.Schema.Features);
            var expected = model.PredictProbabilities(test);
            for (var r = 0; r < test.RowCount; r++)
            {
                float[] row = [.. Enumerable.Range(0, 4).Select(c => (float)test.Number(c, r))];
                Assert.Equal(expected[r], loaded.PositiveProbability(row), 12);
            }

            Assert.True(loaded.ApproximateBytes > 0);
            Assert.Equal(bytes, ModelArtifact.Serialize(model));
        }
    }

    [Fact]
    public void A_loaded_model_evaluates_a_written_test_split_as_the_trained_model_did()
    {
        var (train, test) = Datasets.BreastCancer.Split(0.2, true, 4);
        var model = AlgorithmCatalog.Get("LogisticRegression").Fit(train, HyperParameters.Empty, 4, CancellationToken.None);
        var (bytes, sha) = Save(model);
        var path = Path.Combine(_folder.Path, "test.csv");
        test.WriteCsv(path);
        // Read back with the classes the other way round: evaluation matches labels by their original values.
        var reread = TableReader.Read(path, new CsvOptions("CLASS") { PositiveLabel = "0" }, CancellationToken.None);

        var expected = Evaluator.Evaluate(model, test);
        var actual = Evaluator.Evaluate(ModelArtifact.Load(bytes, sha), reread);

        Assert.Equal(expected.Auc, actual.Auc, 12);
        Assert.Equal(expected.ConfusionMatrix, actual.ConfusionMatrix);
        Assert.Equal("1", actual.PositiveLabel);
    }

    [Fact]
    public void A_changed_byte_is_refused_by_the_hash()
    {
        var (bytes, sha) = Save(MixedModel());
        bytes[bytes.Length / 2] ^= 0x01;

        var error = Assert.Throws<ArtifactException>(() => ModelArtifact.Load(bytes, sha));

        Assert.Contains("SHA-256", error.Message);
    }

    [Fact]
    public void An_unknown_format_version_is_refused_even_with_a_matching_hash()
    {
        var (bytes, _) = Save(MixedModel());
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), 99);

        var error = Assert.Throws<ArtifactException>(() => ModelArtifact.Load(bytes, ModelArtifact.Sha256(bytes)));

        Assert.Contains("format version 99", error.Message);
    }

    [Fact]
    public void Other_files_and_truncated_artifacts_are_refused()
    {
        byte[] text = "hello, world, this is not a model"u8.ToArray();
        Assert.Contains("not a Flotilla model", Assert.Throws<ArtifactException>(() => ModelArtifact.Load(text, ModelArtifact.Sha256(text))).Message);

        var (bytes, _) = Save(MixedModel());
        var truncated = bytes[..^40];
        Assert.Throws<ArtifactException>(() => ModelArtifact.Load(truncated, ModelArtifact.Sha256(truncated)));
    }

    [Fact]
    public void CSV_rows_are_scored_by_position_with_labels_and_probabilities()
    {
        var (bytes, sha) = Save(MixedModel());
        var model = ModelArtifact.Load(bytes, sha);

        var predictions = model.PredictCsv("60,Oslo,10\r\n25,\"Lima, PE\",900\n?,Rome,NA\n");

        Assert.Equal([">50K", "<=50K", ">50K"], predictions.Select(p => p.Label));
        Assert.All(predictions, p => Assert.InRange(p.Probability, 0.5, 1));
        Assert.Equal(1 - predictions[1].Probability, predictions[1].PositiveProbability, 12);
        Assert.Equal(predictions, model.PredictCsv("age,city,income\n60,Oslo,10\n25,\"Lima, PE\",900\n?,Rome,NA"));
    }

    [Fact]
    public void JSON_rows_are_scored_by_name_and_agree_with_CSV()
    {
        var model = MixedModel().ToLoaded();
        using var rows = JsonDocument.Parse("""[{"income": 10, "city": "Oslo", "age": 60}, {"age": "25", "city": "Lima, PE", "income": 900, "label": "x"}, {"age": null, "city": "Rome", "income": null}]""");

        var predictions = model.PredictJson(rows.RootElement);

        Assert.Equal(model.PredictCsv("60,Oslo,10\n25,\"Lima, PE\",900\n,Rome,"), predictions);
    }

    [Fact]
    public void Unknown_or_missing_columns_and_bad_values_are_refused_naming_row_and_column()
    {
        var model = MixedModel().ToLoaded();
        InvalidRowException Refused(string json)
        {
            using var document = JsonDocument.Parse(json);
            return Assert.Throws<InvalidRowException>(() => model.PredictJson(document.RootElement));
        }

        Assert.Contains("row 2, column 'colour'", Refused("""[{"age": 1, "city": "Oslo", "income": 2}, {"age": 1, "city": "Oslo", "income": 2, "colour": "red"}]""").Message);
        Assert.Contains("row 1, column 'income'", Refused("""{"age": 1, "city": "Oslo"}""").Message);
        Assert.Contains("row 1, column 'age': 'old' is not a number", Refused("""{"age": "old", "city": "Oslo", "income": 3}""").Message);
        Assert.Contains("row 2: 2 values", Assert.Throws<InvalidRowException>(() => model.PredictCsv("1,Oslo,3\n1,Oslo\n")).Message);
        Assert.Contains("row 1, column 'income'", Assert.Throws<InvalidRowException>(() => model.PredictCsv("1,Oslo,lots\n")).Message);
        Assert.Contains("row 1: 2 values", Assert.Throws<InvalidRowException>(() => model.Predict([1f, 2f])).Message);
    }

    [Fact]
    public void An_unseen_category_scores_without_error()
    {
        var model = MixedModel("NaiveBayes").ToLoaded();

        var prediction = Assert.Single(model.PredictCsv("30,Paris,100"));

        Assert.InRange(prediction.PositiveProbability, 0, 1);
    }

    [Fact]
    public void Many_threads_share_one_loaded_model_and_get_the_sequential_answers()
    {
        var (train, test) = Datasets.BreastCancer.Split(0.2, true, 1);
        foreach (var name in new[] { "XGBoost", "NeuralNet" })
        {
            var (bytes, sha) = Save(AlgorithmCatalog.Get(name).Fit(train, HyperParameters.Empty, 1, CancellationToken.None));
            var model = ModelArtifact.Load(bytes, sha);
            var rows = Enumerable.Range(0, test.RowCount)
                .Select(r => Enumerable.Range(0, test.Columns.Count).Select(c => (float)test.Number(c, r)).ToArray()).ToArray();
            var expected = rows.Select(r => model.PositiveProbability(r)).ToArray();

            var mismatches = 0;
            Parallel.For(0, 20_000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            {
                if (model.PositiveProbability(rows[i % rows.Length]) != expected[i % rows.Length])
                {
                    Interlocked.Increment(ref mismatches);
                }
            });

            Assert.Equal(0, mismatches);
        }
    }
}
