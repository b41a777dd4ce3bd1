using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;
using Microsoft.ML;

namespace Flotilla.Learning.Tests;

public sealed class AlgorithmTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private Table Write(string name, IEnumerable<string> lines) =>
        TableReader.Read(_folder.Write(name, string.Join("\n", lines)), new CsvOptions("y"), CancellationToken.None);

    [Fact]
    public void The_catalog_holds_the_six_families_and_names_them_on_a_miss()
    {
        Assert.Equal(["RandomForest", "XGBoost", "LightGBM", "LogisticRegression", "NaiveBayes", "NeuralNet"], AlgorithmCatalog.Names);
        Assert.Equal("LightGBM", AlgorithmCatalog.Get("lightgbm").Name);
        var error = Assert.Throws<ArgumentException>(() => AlgorithmCatalog.Get("SVM"));
        Assert.Contains("RandomForest, XGBoost, LightGBM, LogisticRegression, NaiveBayes, NeuralNet", error.Message);
    }

    [Fact]
    public void Every_default_lies_in_its_space_and_every_parameter_documents_its_mapping()
    {
        foreach (var algorithm in AlgorithmCatalog.All)
        {
            algorithm.Space.Validate(algorithm.Defaults);
            Assert.Equal(algorithm.Space.Parameters.Select(p => p.Name).Order(), algorithm.Defaults.Keys.Order());
            Assert.All(algorithm.Space.Parameters, p => Assert.False(string.IsNullOrWhiteSpace(p.Reference)));
        }
    }

    [Fact]
    public void Random_points_and_corners_of_every_space_fit_and_score()
    {
        var random = new Random(8);
        var rows = Enumerable.Range(0, Datasets.Banknote.RowCount).Where(r => r % 4 == 0).ToList();
        var folds = CrossValidation.Prepare(Datasets.Banknote.Subset(rows), 3, 8);
        foreach (var algorithm in AlgorithmCatalog.All)
        {
            var points = Enumerable.Range(0, 4).Select(_ => Draw(algorithm.Space, random, null))
                .Append(Draw(algorithm.Space, random, low: true)).Append(Draw(algorithm.Space, random, low: false));
            foreach (var hp in points)
            {
                var result = CrossValidation.Run(algorithm, hp, folds, Scorer.RocAuc, null, CancellationToken.None);
                Assert.True(result.Mean > 0.5, $"{algorithm.Name} {hp}: {result.Mean}");
            }
        }
    }

    private static HyperParameters Draw(SearchSpace space, Random random, bool? low)
    {
        var values = new Dictionary<string, ParameterValue>();
        foreach (var p in space.Parameters)
        {
            values[p.Name] = p.Kind switch
            {
                ParameterKind.Categorical => p.Choices![low switch { true => 0, false => p.Choices.Count - 1, null => random.Next(p.Choices.Count) }],
                ParameterKind.Integer => low switch
                {
                    true => p.Min,
                    false => p.Max,
                    null => p.Min + (p.Step > 0 ? p.Step : 1) * random.Next((int)((p.Max - p.Min) / (p.Step > 0 ? p.Step : 1)) + 1),
                },
                _ => low switch
                {
                    true => p.Min,
                    false => p.Max,
                    null => p.LogScale ? Math.Exp(Math.Log(p.Min) + random.NextDouble() * (Math.Log(p.Max) - Math.Log(p.Min))) : p.Min + random.NextDouble() * (p.Max - p.Min),
                },
            };
        }

        return new HyperParameters(values);
    }

    [Fact]
    public void Out_of_range_hyper_parameters_are_refused_naming_them()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            AlgorithmCatalog.Get("XGBoost").Fit(Datasets.Banknote, HyperParameters.Empty.With("max_depth", 12), 1, CancellationToken.None));

        Assert.Contains("XGBoost.max_depth", error.Message);
    }

    [Fact]
    public void Naive_Bayes_gives_the_hand_computed_posterior()
    {
        // Class 0 at 1, 2, 3 and class 1 at 6, 7, 8: means 2 and 7, both variances 2/3, equal priors.
        // At x: log-odds = ((x − 2)² − (x − 7)²) / (2 · 2/3); at 4 that is −3.75, at 4.5 zero.
        var table = Write("nb.csv", ["x,y", "1,0", "2,0", "3,0", "6,1", "7,1", "8,1"]);
        var model = AlgorithmCatalog.Get("NaiveBayes").Fit(table, HyperParameters.Empty, 0, CancellationToken.None).ToLoaded();

        Assert.Equal(1 / (1 + Math.Exp(3.75)), model.PositiveProbability([4f]), 6);
        Assert.Equal(0.5, model.PositiveProbability([4.5f]), 6);
        Assert.Equal(1 / (1 + Math.Exp(-3.75)), model.PositiveProbability([5f]), 6);
    }

    [Fact]
    public void The_neural_net_learns_XOR()
    {
        var random = new Random(11);
        var lines = new List<string> { "a,b,y" };
        for (var i = 0; i < 400; i++)
        {
            var (a, b) = (random.Next(2), random.Next(2));
            lines.Add(FormattableString.Invariant($"{a + random.NextDouble() * 0.1},{b + random.NextDouble() * 0.1},{a ^ b}"));
        }

        var hp = HyperParameters.Empty.With("learning_rate_init", 0.01).With("max_iter", "500").With("hidden_layer_sizes", "50");
        var model = AlgorithmCatalog.Get("NeuralNet").Fit(Write("xor.csv", lines), hp, 3, CancellationToken.None).ToLoaded();

        Assert.True(model.PositiveProbability([0.05f, 1.05f]) > 0.9);
        Assert.True(model.PositiveProbability([1.05f, 0.05f]) > 0.9);
        Assert.True(model.PositiveProbability([0.05f, 0.05f]) < 0.1);
        Assert.True(model.PositiveProbability([1.05f, 1.05f]) < 0.1);
    }

    [Fact]
    public void A_neural_net_refit_does_not_depend_on_its_seed_for_its_test_score()
    {
        // The breast-cancer tuning winner of seed 42 under the old held-out early stopping: refit with seeds 42..46 it
        // scored test AUC 0.985–0.996, so the refit of the CV winner was a lottery. Trained on every row it is stable.
        var (train, test) = Datasets.BreastCancer.Split(0.2, true, 42);
        var hp = HyperParameters.Empty.With("activation", "logistic").With("alpha", 0.97).With("hidden_layer_sizes", "50,50")
            .With("learning_rate_init", 0.0085).With("max_iter", "1000");
        var aucs = Enumerable.Range(42, 5)
            .Select(seed => Evaluator.Evaluate(AlgorithmCatalog.Get("NeuralNet").Fit(train, hp, seed, CancellationToken.None), test).Auc)
            .ToList();

        Assert.True(aucs.Max() - aucs.Min() < 0.005, $"test AUC by seed: {string.Join(", ", aucs)}");
        Assert.True(aucs.Min() > 0.99, $"test AUC by seed: {string.Join(", ", aucs)}");
    }

    [Fact]
    public void Logistic_regression_and_the_logistic_neural_net_separate_a_linear_problem()
    {
        var random = new Random(2);
        var lines = new List<string> { "x1,x2,y" };
        for (var i = 0; i < 300; i++)
        {
            var (x1, x2) = (random.NextDouble() * 10, random.NextDouble() * 1000);
            lines.Add(FormattableString.Invariant($"{x1},{x2},{(x1 + x2 / 100 > 10 ? "yes" : "no")}"));
        }

        var table = Write("linear.csv", lines);
        var (train, test) = table.Split(0.3, true, 1);
        foreach (var (name, hp) in new[]
        {
            ("LogisticRegression", HyperParameters.Empty.With("C", 100.0)),
            ("NeuralNet", HyperParameters.Empty.With("activation", "logistic").With("learning_rate_init", 0.01)),
        })
        {
            var report = Evaluator.Evaluate(AlgorithmCatalog.Get(name).Fit(train, hp, 1, CancellationToken.None), test);
            Assert.True(report.Auc > 0.99, $"{name}: AUC {report.Auc}");
            Assert.Equal("yes", report.PositiveLabel);
        }
    }

    [Fact]
    public void Every_family_fits_the_breast_cancer_data_well_with_its_defaults()
    {
        var (train, test) = Datasets.BreastCancer.Split(0.2, true, 42);
        foreach (var algorithm in AlgorithmCatalog.All)
        {
            var model = algorithm.Fit(train, HyperParameters.Empty, 42, CancellationToken.None);
            var report = Evaluator.Evaluate(model, test);

            Assert.True(report.Auc > 0.97, $"{algorithm.Name}: test AUC {report.Auc}");
            Assert.True(report.LogLoss < 0.7, $"{algorithm.Name}: log loss {report.LogLoss} (uncalibrated?)");
            Assert.Equal(algorithm.Name, model.Metadata.Algorithm);
            Assert.Equal(algorithm.Defaults, model.Metadata.HyperParameters);
        }
    }

    [Fact]
    public void The_alternative_engines_FastForest_and_FastTree_fit_and_score_too()
    {
        var (train, test) = Datasets.Banknote.Split(0.2, true, 42);
        IAlgorithm[] engines = [new RandomForest(ForestEngine.FastForest), new XGBoost(BoostingEngine.FastTree)];
        foreach (var algorithm in engines)
        {
            var hp = HyperParameters.Empty.With("n_estimators", 50);
            var bytes = ModelArtifact.Serialize(algorithm.Fit(train, hp, 42, CancellationToken.None));
            var report = Evaluator.Evaluate(ModelArtifact.Load(bytes, ModelArtifact.Sha256(bytes)), test);

            Assert.True(report.Auc > 0.99, $"{algorithm.Name}: {report.Auc}");
            Assert.True(report.LogLoss < 0.3, $"{algorithm.Name}: log loss {report.LogLoss}");
        }
    }

    [Fact]
    public void Categorical_and_missing_values_are_encoded_for_every_family()
    {
        var random = new Random(4);
        var colours = new[] { "red", "green", "blue" };
        var lines = new List<string> { "size,colour,y" };
        for (var i = 0; i < 300; i++)
        {
            var colour = colours[random.Next(3)];
            var size = random.NextDouble();
            var positive = colour == "red" || (colour == "green" && size > 0.5);
            lines.Add(FormattableString.Invariant($"{(i % 10 == 0 ? "NA" : size.ToString("F3", System.Globalization.CultureInfo.InvariantCulture))},{(i % 13 == 0 ? "" : colour)},{(positive ? "P" : "N")}"));
        }

        var (train, test) = Write("categorical.csv", lines).Split(0.25, true, 5);
        foreach (var algorithm in AlgorithmCatalog.All)
        {
            var model = algorithm.Fit(train, HyperParameters.Empty, 5, CancellationToken.None);

            Assert.Equal(["red", "green", "blue"], model.Schema.Features[1].Vocabulary.Order().Reverse());
            Assert.True(Evaluator.Evaluate(model, test).Auc > 0.85, algorithm.Name);
        }
    }

    /// <summary>Banknote with a text column derived from its first feature, and about one cell in eight of each column blanked.</summary>
    private Table BanknoteWithMissingCells()
    {
        var lines = File.ReadAllLines(Datasets.PathOf("banknote-authentication.csv"));
        var random = new Random(13);
        var written = new List<string> { lines[0].Replace("CLASS", "band,CLASS", StringComparison.Ordinal) };
        foreach (var line in lines.Skip(1))
        {
            var cells = line.Split(',');
            var band = double.Parse(cells[0], System.Globalization.CultureInfo.InvariantCulture) switch { < -2 => "low", < 2 => "mid", _ => "high" };
            var features = cells[..^1].Append(band).Select(c => random.Next(8) == 0 ? "" : c);
            written.Add(string.Join(',', features.Append(cells[^1])));
        }

        return TableReader.Read(_folder.Write("banknote-missing.csv", string.Join("\n", written)), new CsvOptions("CLASS"), CancellationToken.None);
    }

    [Fact]
    public void Extracted_boosted_trees_score_as_ML_NET_does_missing_values_included()
    {
        // LightGBM sees NaN and learns where it goes; FastTree sees the imputed rows, and its extracted trees send NaN
        // where the imputed value goes. Both then score the rows with NaN as ML.NET scores its own view of them.
        var data = EncodedData.From(BanknoteWithMissingCells());
        var ml = new MLContext(1);
        Assert.All(data.Statistics.HasMissing, Assert.True);
        var native = data.DataView(ViewEncoding.Native, balanced: false);
        var lightGbm = ml.BinaryClassification.Trainers.LightGbm(
            new Microsoft.ML.Trainers.LightGbm.LightGbmBinaryTrainer.Options { NumberOfThreads = 1, NumberOfIterations = 30 }).Fit(native);
        var lightGbmTrees = MlNet.Extract(lightGbm.Model.SubModel.TrainedTreeEnsemble, lightGbm.Model.Calibrator.Slope, lightGbm.Model.Calibrator.Offset, NaNRoutes.Learned(data));
        Check("LightGbm", lightGbmTrees, lightGbm, native);
        Assert.Equal(PredictorKind.RoutedTreeEnsemble, lightGbmTrees.Kind);
        var imputed = data.DataView(ViewEncoding.Imputed, balanced: false);
        var fastTree = ml.BinaryClassification.Trainers.FastTree(
            new Microsoft.ML.Trainers.FastTree.FastTreeBinaryTrainer.Options { NumberOfThreads = 1, NumberOfTrees = 30 }).Fit(imputed);
        Check("FastTree", MlNet.Extract(fastTree.Model.SubModel.TrainedTreeEnsemble, fastTree.Model.Calibrator.Slope, fastTree.Model.Calibrator.Offset, NaNRoutes.Imputed(data.Schema)), fastTree, imputed);

        void Check(string name, TreeEnsemblePredictor predictor, ITransformer transformer, IDataView view)
        {
            var expected = ml.Data.CreateEnumerable<Scored>(transformer.Transform(view), reuseRowObject: false).Select(s => (double)s.Probability).ToArray();

            var actual = data.View.Probabilities(predictor);

            Assert.Equal(data.Rows, expected.Length);
            for (var r = 0; r < expected.Length; r++)
            {
                Assert.True(Math.Abs(expected[r] - actual[r]) < 1e-5, $"{name} row {r}: ML.NET {expected[r]}, ours {actual[r]}");
            }
        }
    }

    private sealed class Scored
    {
        public float Probability { get; set; }
    }
}
