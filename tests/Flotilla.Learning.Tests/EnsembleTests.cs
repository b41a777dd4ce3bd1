using System.Text;
using System.Text.Json;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;
using Flotilla.Learning.Ensembles;
using Flotilla.Learning.Evaluation;

namespace Flotilla.Learning.Tests;

public sealed class EnsembleTests
{
    private static Table Mixed()
    {
        var csv = new StringBuilder("age,city,income,label\n");
        var random = new Random(9);
        string[] cities = ["Oslo", "Rome", "Lima, PE"];
        for (var i = 0; i < 300; i++)
        {
            var city = cities[random.Next(3)];
            var age = 20 + random.Next(50);
            var income = random.Next(1000);
            var positive = age > 45 ^ city == "Rome" ^ random.NextDouble() < 0.15;
            csv.Append(FormattableString.Invariant($"{(i % 13 == 0 ? "?" : age)},\"{city}\",{income},{(positive ? ">50K" : "<=50K")}\n"));
        }

        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(csv.ToString()));
        return TableReader.Read(stream, "adult.csv", new CsvOptions("label"), CancellationToken.None);
    }

    private static TrainedModel Ensemble(Table table, out TrainedModel forest, out TrainedModel linear)
    {
        forest = AlgorithmCatalog.Get("RandomForest").Fit(table, HyperParameters.Empty.With("n_estimators", 50), 1, CancellationToken.None);
        linear = AlgorithmCatalog.Get("LogisticRegression").Fit(table, HyperParameters.Empty, 1, CancellationToken.None);
        return TrainedModel.Combine([(forest, 3, 4, 0.91), (linear, 1, 7, 0.88)]).WithDecisionThreshold(0.4, "f1");
    }

    [Fact]
    public void An_ensemble_artifact_scores_the_weighted_mean_of_its_members_at_every_door_and_names_them()
    {
        var table = Mixed();
        var model = Ensemble(table, out var forest, out var linear);
        var bytes = ModelArtifact.Serialize(model);

        var loaded = ModelArtifact.Load(bytes, ModelArtifact.Sha256(bytes));

        Assert.Equal(TrainedModel.EnsembleAlgorithm, loaded.Metadata.Algorithm);
        Assert.Equal(0.4, loaded.DecisionThreshold);
        var members = loaded.Metadata.Members!;
        Assert.Equal(["RandomForest", "LogisticRegression"], members.Select(m => m.Algorithm));
        Assert.Equal([0.75, 0.25], members.Select(m => m.Weight));
        Assert.Equal([4, 7], members.Select(m => m.Trial!.Value));
        Assert.Equal(50, members[0].Parameters["n_estimators"].Number);
        var expected = forest.PredictProbabilities(table).Zip(linear.PredictProbabilities(table), (f, l) => 0.75 * f + 0.25 * l).ToArray();
        Assert.Equal(expected, loaded.PredictProbabilities(table));
        Assert.NotEqual(forest.PredictProbabilities(table), expected);

        using var json = JsonDocument.Parse("""[{"age": 50, "city": "Rome", "income": 10}, {"age": null, "city": "Oslo", "income": 999}]""");
        var byJson = loaded.PredictJson(json.RootElement);
        var byCsv = loaded.PredictCsv("50,Rome,10\n,Oslo,999\n");
        Assert.Equal(byJson.Select(p => p.PositiveProbability), byCsv.Select(p => p.PositiveProbability));
        Assert.All(byJson, p => Assert.Equal(p.PositiveProbability >= 0.4 ? ">50K" : "<=50K", p.Label));
    }

    [Fact]
    public async Task Batch_scoring_an_ensemble_gives_what_the_json_door_gives()
    {
        var model = Ensemble(Mixed(), out _, out _).ToLoaded();
        using var input = new StringReader("city,age,income\nRome,50,10\nOslo,?,999\n");
        await using var output = new StringWriter();

        var rows = await CsvScoring.ScoreAsync(model, input, output, "batch.csv", null, CancellationToken.None, 1);

        Assert.Equal(2, rows);
        using var json = JsonDocument.Parse("""[{"age": 50, "city": "Rome", "income": 10}, {"age": null, "city": "Oslo", "income": 999}]""");
        var expected = model.PredictJson(json.RootElement);
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < expected.Count; i++)
        {
            var fields = lines[i + 1].Split(',');
            Assert.Equal(expected[i].Label, fields[^2]);
            Assert.Equal(expected[i].Probability, double.Parse(fields[^1], System.Globalization.CultureInfo.InvariantCulture), 12);
        }
    }

    [Fact]
    public void An_ensemble_of_one_member_is_that_model_byte_for_byte_and_members_of_other_tables_are_refused()
    {
        var table = Mixed();
        var linear = AlgorithmCatalog.Get("LogisticRegression").Fit(table, HyperParameters.Empty, 1, CancellationToken.None);
        var other = AlgorithmCatalog.Get("LogisticRegression").Fit(Datasets.Banknote, HyperParameters.Empty, 1, CancellationToken.None);

        Assert.Equal(ModelArtifact.Serialize(linear), ModelArtifact.Serialize(TrainedModel.Combine([(linear, 1, 0, null)])));
        var refused = Assert.Throws<ArgumentException>(() => TrainedModel.Combine([(linear, 1, 0, null), (other, 1, 1, null)]));
        Assert.Contains("share one input schema", refused.Message);
    }

    [Fact]
    public void A_member_that_is_itself_an_ensemble_is_refused_at_load()
    {
        var bytes = ModelArtifact.Serialize(Ensemble(Mixed(), out _, out _));
        // The first member's kind byte sits after the header, the ensemble's kind byte, its count and the first weight.
        var headerLength = BitConverter.ToInt32(bytes, 8);
        var memberKind = 12 + headerLength + 1 + 4 + 8;
        Assert.Equal(5, bytes[memberKind]); // a routed tree ensemble (the forest splits the city natively)
        bytes[memberKind] = 6;

        var refused = Assert.Throws<ArtifactException>(() => ModelArtifact.Load(bytes, ModelArtifact.Sha256(bytes)));
        Assert.Contains("member is an ensemble", refused.Message);
    }

    [Fact]
    public void Selection_adds_a_complementary_candidate_and_keeps_the_best_alone_when_nothing_helps()
    {
        // Two views of a signal with independent noise: their mean ranks better than either alone.
        var random = new Random(3);
        var n = 2000;
        var labels = new bool[n];
        var a = new double[n];
        var b = new double[n];
        var useless = new double[n];
        for (var r = 0; r < n; r++)
        {
            labels[r] = random.NextDouble() < 0.4;
            var signal = labels[r] ? 1 : 0;
            a[r] = Sigmoid(signal + 1.2 * Normal(random));
            b[r] = Sigmoid(signal + 1.2 * Normal(random));
            useless[r] = random.NextDouble();
        }

        var blended = EnsembleSelection.Select(labels, [a, useless, b], Scorer.RocAuc, 20);

        Assert.Equal(0, blended.Counts[1]);
        Assert.True(blended.Counts[0] > 0 && blended.Counts[2] > 0);
        Assert.True(blended.Objective > blended.FirstObjective + 0.01, $"{blended.Objective} vs {blended.FirstObjective}");
        Assert.Equal(1, blended.Members.Sum(blended.Weight), 12);
        Assert.Equal(blended.Objective, Scorer.RocAuc.Objective(labels, blended.Blend([a, useless, b])), 12);

        // A rescaled copy ranks every row as the first does, so no blend of the two can rank better.
        double[] same = [.. a.Select(p => p / 2)];
        var alone = EnsembleSelection.Select(labels, [a, same], Scorer.RocAuc, 20);
        Assert.Equal([0], alone.Members);
        Assert.Equal(1, alone.Picks);
        Assert.Equal(a, alone.Blend([a, same]));
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
