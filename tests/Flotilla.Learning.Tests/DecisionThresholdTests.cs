using System.Globalization;
using System.Text;
using System.Text.Json;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;

namespace Flotilla.Learning.Tests;

public sealed class DecisionThresholdTests
{
    private static (bool[] Labels, double[] OutOfFold, CrossValidationResult Result, Table Train) OutOfFold(string algorithm)
    {
        var train = Datasets.BreastCancer.Split(0.2, true, 42).Train;
        var result = CrossValidation.Run(AlgorithmCatalog.Get(algorithm), HyperParameters.Empty, train, 5, Scorer.RocAuc, 42, null, CancellationToken.None);
        return ([.. Enumerable.Range(0, train.RowCount).Select(train.Label)], [.. result.OutOfFold!], result, train);
    }

    [Fact]
    public void Cross_validation_keeps_one_out_of_fold_probability_per_training_row_that_reproduces_each_fold_score()
    {
        var (labels, outOfFold, result, train) = OutOfFold("LogisticRegression");
        var folds = CrossValidation.Prepare(train, 5, 42);

        Assert.Equal(train.RowCount, outOfFold.Length);
        Assert.All(outOfFold, p => Assert.InRange(p, 0, 1));
        for (var f = 0; f < 5; f++)
        {
            var rows = Enumerable.Range(0, train.RowCount).Where(r => folds.FoldOf(r) == f).ToArray();
            var auc = Scorer.RocAuc.Compute([.. rows.Select(r => labels[r])], [.. rows.Select(r => outOfFold[r])]);
            Assert.Equal(result.FoldScores[f], auc, 12);
        }
    }

    [Fact]
    public void A_stopped_run_marks_the_rows_of_the_folds_it_did_not_run_as_missing()
    {
        var train = Datasets.Banknote.Split(0.2, true, 42).Train;
        var folds = CrossValidation.Prepare(train, 4, 3);

        var result = CrossValidation.Run(AlgorithmCatalog.Get("NaiveBayes"), HyperParameters.Empty, folds, Scorer.RocAuc, (fold, _) => fold < 1, CancellationToken.None);

        Assert.True(result.Stopped);
        for (var r = 0; r < train.RowCount; r++)
        {
            Assert.Equal(folds.FoldOf(r) >= 2, double.IsNaN(result.OutOfFold![r]));
        }
    }

    [Theory]
    [InlineData("NaiveBayes")]
    [InlineData("LogisticRegression")]
    public void The_chosen_cut_is_the_best_of_every_possible_cut_for_its_metric(string algorithm)
    {
        var (labels, outOfFold, _, _) = OutOfFold(algorithm);
        var mapping = Datasets.BreastCancer.LabelMapping;

        var f1Cut = DecisionThreshold.Parse("f1").Choose(labels, outOfFold);
        var baCut = DecisionThreshold.Parse("balanced_accuracy").Choose(labels, outOfFold);
        var youdenCut = DecisionThreshold.Parse("youden").Choose(labels, outOfFold);

        var at = (double cut) => Evaluator.Report(labels, outOfFold, mapping, cut).ConfusionMatrix;
        foreach (var candidate in outOfFold.Distinct())
        {
            Assert.True(at(f1Cut).F1 >= at(candidate).F1 - 1e-12, $"F1 at {candidate} beats the chosen {f1Cut}");
            Assert.True(at(baCut).BalancedAccuracy >= at(candidate).BalancedAccuracy - 1e-12, $"balanced accuracy at {candidate} beats the chosen {baCut}");
        }
        Assert.Equal(baCut, youdenCut);
        Assert.True(at(f1Cut).F1 >= at(0.5).F1);
        Assert.InRange(f1Cut, 0, 1);
        Assert.DoesNotContain(f1Cut, outOfFold);
    }

    [Fact]
    public void Rules_are_names_or_numbers_strictly_between_0_and_1_and_one_class_keeps_half()
    {
        Assert.Equal("balanced_accuracy", DecisionThreshold.Parse(" Balanced_Accuracy ").Rule);
        Assert.Equal(0.3, DecisionThreshold.Parse("0.3").Fixed);
        Assert.Equal(0.3, DecisionThreshold.Parse("0.3").Choose([true, false], [0.9, 0.1]));
        foreach (var bad in new[] { "0", "1", "-0.2", "median", "" })
        {
            var error = Assert.Throws<ArgumentException>(() => DecisionThreshold.Parse(bad));
            Assert.Contains("between 0 and 1", error.Message);
        }
        Assert.Equal(0.5, DecisionThreshold.F1.Choose([true, true, true], [0.2, 0.7, 0.9]));
        Assert.Equal(0.5, DecisionThreshold.F1.Choose([true, false], [0.4, 0.4]));
    }

    [Fact]
    public void A_stored_threshold_decides_every_label_after_a_round_trip_and_an_artifact_without_one_keeps_its_bytes_and_half()
    {
        var (plain, table) = TinyModel();
        var plainBytes = ModelArtifact.Serialize(plain);
        var probabilities = plain.PredictProbabilities(table);
        // A cut above some rows that 0.5 calls positive, so the two models disagree on them.
        var cut = probabilities.Where(p => p >= 0.5).Order().ElementAt(probabilities.Count(p => p >= 0.5) / 2);
        var withCut = plain.WithDecisionThreshold(cut, "0.x");
        var bytes = ModelArtifact.Serialize(withCut);

        var loaded = ModelArtifact.Load(bytes, ModelArtifact.Sha256(bytes));
        var loadedPlain = ModelArtifact.Load(plainBytes, ModelArtifact.Sha256(plainBytes));

        Assert.Equal(cut, loaded.DecisionThreshold);
        Assert.Equal("0.x", loaded.Metadata.DecisionThresholdRule);
        Assert.Equal(0.5, loadedPlain.DecisionThreshold);
        Assert.Null(loadedPlain.Metadata.DecisionThreshold);
        Assert.DoesNotContain("decisionThreshold", Encoding.UTF8.GetString(plainBytes));
        var csv = string.Join("\n", Enumerable.Range(0, table.RowCount).Select(r => Row(table, r)));
        var json = JsonDocument.Parse("[" + string.Join(",", Enumerable.Range(0, table.RowCount).Select(r => JsonRow(table, r))) + "]").RootElement;
        var byCsv = loaded.PredictCsv(csv);
        var byJson = loaded.PredictJson(json);
        var byHalf = loadedPlain.PredictCsv(csv);
        var mapping = plain.Schema.LabelMapping;
        for (var r = 0; r < table.RowCount; r++)
        {
            Assert.Equal(mapping[probabilities[r] >= cut], byCsv[r].Label);
            Assert.Equal(byCsv[r], byJson[r]);
            Assert.Equal(mapping[probabilities[r] >= 0.5], byHalf[r].Label);
            Assert.Equal(probabilities[r], byCsv[r].PositiveProbability, 12);
        }
        Assert.Contains(Enumerable.Range(0, table.RowCount), r => byCsv[r].Label != byHalf[r].Label);
    }

    [Fact]
    public void The_report_uses_the_models_threshold_keeps_the_half_metrics_and_round_trips_as_json()
    {
        var (plain, table) = TinyModel();
        var model = plain.WithDecisionThreshold(0.8, "0.8");

        var report = Evaluator.Evaluate(model, table);
        var again = EvaluationReport.FromJson(report.ToJson());
        var half = Evaluator.Evaluate(plain, table);

        Assert.Equal(0.8, report.Threshold);
        Assert.Equal("0.8", again.ThresholdRule);
        Assert.Equal(half.ConfusionMatrix, again.ConfusionMatrixAtHalf);
        Assert.Equal(half.ConfusionMatrix, half.ConfusionMatrixAtHalf);
        Assert.Null(half.ThresholdRule);
        Assert.Equal(half.Auc, report.Auc);
        Assert.NotEqual(half.ConfusionMatrix, report.ConfusionMatrix);
        Assert.Equal(report.ConfusionMatrix.F1, report.Metric("f1"));
        Assert.Contains("\"confusionMatrixAtHalf\"", report.ToJson());
    }

    private static (TrainedModel Model, Table Table) TinyModel()
    {
        var random = new Random(5);
        var csv = new StringBuilder("width,height,label\n");
        for (var i = 0; i < 200; i++)
        {
            var (w, h) = (random.NextDouble() * 10, random.NextDouble() * 10);
            csv.Append(CultureInfo.InvariantCulture, $"{w:F3},{h:F3},{(w + h + (random.NextDouble() - 0.5) * 6 > 10 ? "big" : "small")}\n");
        }
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(csv.ToString()));
        var table = TableReader.Read(stream, "tiny.csv", new CsvOptions("label"), CancellationToken.None);
        return (AlgorithmCatalog.Get("NaiveBayes").Fit(table, HyperParameters.Empty, 5, CancellationToken.None), table);
    }

    private static string Row(Table table, int r) =>
        string.Create(CultureInfo.InvariantCulture, $"{table.Number(0, r):R},{table.Number(1, r):R}");

    private static string JsonRow(Table table, int r) =>
        string.Create(CultureInfo.InvariantCulture, $"{{\"height\": {table.Number(1, r):R}, \"width\": {table.Number(0, r):R}}}");
}
