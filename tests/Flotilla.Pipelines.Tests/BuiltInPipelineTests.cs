using System.Text.Json;
using Flotilla.Pipelines.Datasets;
using Flotilla.Pipelines.Execution;
using Flotilla.Registry;

namespace Flotilla.Pipelines.Tests;

public sealed class BuiltInPipelineTests
{
    [Fact]
    public async Task The_built_in_pipeline_tunes_refits_evaluates_and_registers_version_1_which_a_cached_rerun_reports_again()
    {
        await using var host = await PipelineHost.StartAsync();
        await host.Datasets.RegisterAsync("breast-cancer", SharedData.Dataset("breast-cancer.csv"), "CLASS", [], CancellationToken.None);
        var parameters = new
        {
            DatasetName = "breast-cancer",
            MaxTuningJobs = 12,
            MaxTuningParallelJobs = 2,
            CrossValidationFolds = 3,
            Algorithms = "LogisticRegression,LightGBM,NaiveBayes",
            RegisterModelApprovalStatus = "Approved",
        };

        var first = await host.RunAsync("multimodel", parameters);
        var second = await host.RunAsync("multimodel", parameters);

        Assert.True(first.Status == ExecutionStatus.Succeeded, first.FailureReason);
        Assert.Equal(ExecutionStatus.Succeeded, second.Status);
        Assert.Equal(12, (await host.Executions.TrialsAsync(first.Id, CancellationToken.None)).Count);
        var register = first.Steps.Single(s => s.Name == "Register");
        Assert.Equal(1, register.Outputs!["version"]!.GetValue<long>());
        // The same seed and data make the same artifact: the re-run reports version 1 instead of a duplicate version 2.
        Assert.Equal(1, second.Steps.Single(s => s.Name == "Register").Outputs!["version"]!.GetValue<long>());
        Assert.Equal(first.Id, second.Steps.Single(s => s.Name == "Preprocess").CachedFrom);
        var tune = first.Steps.Single(s => s.Name == "Tune");
        Assert.Equal(Math.Min(2, Environment.ProcessorCount), tune.Outputs!["parallelism"]!.GetValue<int>());
        Assert.Equal(2, tune.Outputs["requestedParallelism"]!.GetValue<int>());
        Assert.Equal(StepStatus.Skipped, first.Steps.Single(s => s.Name == "MetricBelowThreshold").Status);

        var package = await host.Registry.GetPackageAsync(register.Outputs["packageId"]!.GetValue<string>(), CancellationToken.None);
        Assert.NotNull(package);
        Assert.Equal("multimodel-breast-cancer", package.Group);
        Assert.Equal(ApprovalStatus.Approved, package.ApprovalStatus);
        Assert.Equal(first.Id, package.Lineage.ExecutionId);
        Assert.Equal("Register", package.Lineage.StepName);
        Assert.Equal(first.Steps.Single(s => s.Name == "Refit").Outputs!["sha256"]!.GetValue<string>(), package.Artifact.Sha256);
        Assert.True(package.EvaluationReport.GetProperty("auc").GetDouble() > 0.9);
        Assert.Equal("breast-cancer", package.Parameters.GetProperty("DatasetName").GetString());

        // The training profile the endpoint measures drift against: quantile bins of every feature, the label balance, test scores.
        var profile = package.EvaluationReport.GetProperty("profile").Deserialize<Learning.Evaluation.TrainingProfile>(Learning.Evaluation.EvaluationReport.JsonOptions)!;
        Assert.Equal(30, profile.Features.Count);
        Assert.InRange(profile.PositiveShare, 0.55, 0.7); // 357 of 569 rows are the positive class, split stratified
        Assert.Equal(1, profile.ScoreShares.Sum(), 9);
        Assert.All(profile.Features, f =>
        {
            Assert.Equal(Learning.Data.ColumnKind.Numeric, f.Kind);
            Assert.InRange(f.Edges.Count, 1, Learning.Evaluation.TrainingProfile.NumericBins - 1);
            Assert.Equal(1, f.Shares.Sum() + f.MissingShare, 9);
            // Quantile bins: no bin holds much more than its tenth unless ties forced bins together.
            Assert.True(f.Shares.Max() < 0.35 || f.Edges.Count < 9, $"{f.Name}: {string.Join(", ", f.Shares)}");
        });
    }

    [Fact]
    public async Task A_grid_search_that_plans_fewer_trials_than_MaxTuningJobs_reports_its_planned_count()
    {
        await using var host = await PipelineHost.StartAsync();
        await host.Datasets.RegisterAsync("bc", SharedData.Dataset("breast-cancer.csv"), "CLASS", [], CancellationToken.None);

        var execution = await host.RunAsync("multimodel", new
        {
            DatasetName = "bc",
            TuningStrategy = "Grid",
            TuningPruning = "None",
            MaxTuningJobs = 60,
            Algorithms = "NaiveBayes",
            CrossValidationFolds = 2,
        });
        var trials = await host.Executions.TrialsAsync(execution.Id, CancellationToken.None);

        Assert.True(execution.Status == ExecutionStatus.Succeeded, execution.FailureReason);
        var planned = execution.Steps.Single(s => s.Name == "Tune").Outputs!["planned"]!.GetValue<int>();
        Assert.InRange(planned, 1, 59);
        Assert.Equal(planned, trials.Count);
        Assert.All(trials, t => Assert.Equal(planned, t.Planned));
    }

    [Fact]
    public async Task The_decision_threshold_is_chosen_on_the_winners_out_of_fold_predictions_stored_in_the_artifact_and_reported()
    {
        await using var host = await PipelineHost.StartAsync();
        await host.Datasets.RegisterAsync("bc", SharedData.Dataset("breast-cancer.csv"), "CLASS", [], CancellationToken.None);
        var common = new { DatasetName = "bc", MaxTuningJobs = 4, MaxTuningParallelJobs = 2, CrossValidationFolds = 3, Algorithms = "NaiveBayes,LogisticRegression" };

        var chosen = await host.RunAsync("multimodel", common);
        var fixedCut = await host.RunAsync("multimodel", new { common.DatasetName, common.MaxTuningJobs, common.MaxTuningParallelJobs, common.CrossValidationFolds, common.Algorithms, DecisionThreshold = 0.3 });

        Assert.True(chosen.Status == ExecutionStatus.Succeeded, chosen.FailureReason);
        Assert.True(fixedCut.Status == ExecutionStatus.Succeeded, fixedCut.FailureReason);
        var tune = chosen.Steps.Single(s => s.Name == "Tune").Outputs!;
        var refit = chosen.Steps.Single(s => s.Name == "Refit");
        var threshold = refit.Outputs!["decisionThreshold"]!.GetValue<double>();
        // The same cut again from the tuner's file and the training split alone: the test rows play no part.
        var train = Learning.Data.TableReader.Read(host.StoredPath(chosen.Steps.Single(s => s.Name == "Preprocess").Outputs!["train"]!.GetValue<string>()), new Learning.Data.CsvOptions("CLASS"), CancellationToken.None);
        var outOfFold = (await File.ReadAllLinesAsync(host.StoredPath(tune["outOfFold"]!.GetValue<string>()))).Select(l => double.Parse(l, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(train.RowCount, outOfFold.Length);
        Assert.Equal(Learning.Evaluation.DecisionThreshold.F1.Choose([.. Enumerable.Range(0, train.RowCount).Select(train.Label)], outOfFold), threshold);
        Assert.NotEqual(0.5, threshold);
        Assert.Contains("decision threshold", refit.Log);
        Assert.Contains("(f1 on the tuner's out-of-fold predictions)", refit.Log);
        var artifact = await File.ReadAllBytesAsync(host.StoredPath(refit.Outputs["model"]!.GetValue<string>()));
        Assert.Equal(threshold, Learning.Artifacts.ModelArtifact.Load(artifact, Learning.Artifacts.ModelArtifact.Sha256(artifact)).DecisionThreshold);
        var report = Learning.Evaluation.EvaluationReport.FromJson(await File.ReadAllTextAsync(host.StoredPath(chosen.Steps.Single(s => s.Name == "Evaluate").Outputs!["report"]!.GetValue<string>())));
        Assert.Equal(threshold, report.Threshold);
        Assert.Equal("f1", report.ThresholdRule);
        Assert.NotNull(report.ConfusionMatrixAtHalf);
        Assert.Equal(report.Rows, report.ConfusionMatrixAtHalf.Total);

        var fixedRefit = fixedCut.Steps.Single(s => s.Name == "Refit").Outputs!;
        Assert.Equal(0.3, fixedRefit["decisionThreshold"]!.GetValue<double>());
        var fixedReport = Learning.Evaluation.EvaluationReport.FromJson(await File.ReadAllTextAsync(host.StoredPath(fixedCut.Steps.Single(s => s.Name == "Evaluate").Outputs!["report"]!.GetValue<string>())));
        Assert.Equal(0.3, fixedReport.Threshold);
        Assert.Equal("0.3", fixedReport.ThresholdRule);
    }

    [Fact]
    public async Task With_EnsembleSize_the_chosen_trials_are_refitted_into_one_artifact_thresholded_on_their_blend_and_named_in_the_report()
    {
        await using var host = await PipelineHost.StartAsync();
        await host.Datasets.RegisterAsync("bc", SharedData.Dataset("breast-cancer.csv"), "CLASS", [], CancellationToken.None);

        var execution = await host.RunAsync("multimodel", new { DatasetName = "bc", MaxTuningJobs = 8, MaxTuningParallelJobs = 2, CrossValidationFolds = 3, Algorithms = "NaiveBayes,LogisticRegression,LightGBM", EnsembleSize = 20 });

        Assert.True(execution.Status == ExecutionStatus.Succeeded, execution.FailureReason);
        var tune = execution.Steps.Single(s => s.Name == "Tune");
        var members = tune.Outputs!["ensemble"]!.AsArray();
        Assert.True(members.Count > 1, tune.Log);
        Assert.Contains("ensemble of", tune.Log);
        Assert.Equal(1, members.Sum(m => m!["weight"]!.GetValue<double>()), 9);
        var trials = await host.Executions.TrialsAsync(execution.Id, CancellationToken.None);
        Assert.All(members, m => Assert.Contains(trials, t => t.Number == m!["trial"]!.GetValue<int>() && t.Algorithm == m["algorithm"]!.GetValue<string>()));

        var refit = execution.Steps.Single(s => s.Name == "Refit");
        Assert.Equal("Ensemble", refit.Outputs!["algorithm"]!.GetValue<string>());
        var artifact = await File.ReadAllBytesAsync(host.StoredPath(refit.Outputs["model"]!.GetValue<string>()));
        var model = Learning.Artifacts.ModelArtifact.Load(artifact, Learning.Artifacts.ModelArtifact.Sha256(artifact));
        Assert.Equal(members.Select(m => m!["trial"]!.GetValue<int>()), model.Metadata.Members!.Select(m => m.Trial!.Value));
        Assert.Equal(members.Select(m => m!["weight"]!.GetValue<double>()), model.Metadata.Members!.Select(m => m.Weight));

        // The threshold is chosen on the blend of the members' out-of-fold predictions, which the Tune step wrote.
        var train = Learning.Data.TableReader.Read(host.StoredPath(execution.Steps.Single(s => s.Name == "Preprocess").Outputs!["train"]!.GetValue<string>()), new Learning.Data.CsvOptions("CLASS"), CancellationToken.None);
        var blend = (await File.ReadAllLinesAsync(host.StoredPath(tune.Outputs["outOfFold"]!.GetValue<string>()))).Select(l => double.Parse(l, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var folds = Learning.Evaluation.CrossValidation.Prepare(train, 3, 42);
        var expected = new double[train.RowCount];
        foreach (var member in model.Metadata.Members!)
        {
            var outOfFold = Learning.Evaluation.CrossValidation.Run(Learning.Algorithms.AlgorithmCatalog.Get(member.Algorithm), member.Parameters, folds, Learning.Evaluation.Scorer.RocAuc, null, CancellationToken.None).OutOfFold!;
            for (var r = 0; r < expected.Length; r++)
            {
                expected[r] += member.Weight * outOfFold[r];
            }
        }
        Assert.Equal(expected, blend, (a, b) => Math.Abs(a - b) < 1e-12);
        Assert.Equal(Learning.Evaluation.DecisionThreshold.F1.Choose([.. Enumerable.Range(0, train.RowCount).Select(train.Label)], blend), model.DecisionThreshold);

        using var report = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(host.StoredPath(execution.Steps.Single(s => s.Name == "Evaluate").Outputs!["report"]!.GetValue<string>())));
        var listed = report.RootElement.GetProperty("ensemble").EnumerateArray().ToList();
        Assert.Equal(members.Count, listed.Count);
        Assert.All(listed, m => Assert.True(m.GetProperty("weight").GetDouble() > 0));
        Assert.Equal(members[0]!["algorithm"]!.GetValue<string>(), listed[0].GetProperty("algorithm").GetString());
    }

    [Fact]
    public async Task The_champion_gate_scores_the_served_version_on_the_same_rows_and_refuses_a_worse_challenger_naming_both_numbers()
    {
        await using var host = await PipelineHost.StartAsync();
        await host.Datasets.RegisterAsync("bc", SharedData.Dataset("breast-cancer.csv"), "CLASS", [], CancellationToken.None);

        var champion = await host.RunAsync("multimodel", new { DatasetName = "bc", MaxTuningJobs = 2, CrossValidationFolds = 3, Algorithms = "LogisticRegression", MetricForRegistrationThreshold = "accuracy", RegisterModelApprovalStatus = "Approved" });
        // Nearly every row called positive: the same model family, far worse accuracy.
        var worse = await host.RunAsync("multimodel", new { DatasetName = "bc", MaxTuningJobs = 2, CrossValidationFolds = 3, Algorithms = "LogisticRegression", MetricForRegistrationThreshold = "accuracy", MinThresholdForRegisterMetric = 0.5, DecisionThreshold = 0.01, MinImprovementOverServed = 0 });
        // Another cut makes another artifact (the same one would report version 1 again); the slack lets it register whatever its accuracy.
        var same = await host.RunAsync("multimodel", new { DatasetName = "bc", MaxTuningJobs = 2, CrossValidationFolds = 3, Algorithms = "LogisticRegression", MetricForRegistrationThreshold = "accuracy", MinImprovementOverServed = -0.5, DecisionThreshold = 0.45 });

        Assert.True(champion.Status == ExecutionStatus.Succeeded, champion.FailureReason);
        var championAccuracy = (await host.Registry.GetPackageAsync("multimodel-bc-v1", CancellationToken.None))!.EvaluationReport.GetProperty("accuracy").GetDouble();
        Assert.Equal(ExecutionStatus.Failed, worse.Status);
        var reason = System.Text.RegularExpressions.Regex.Match(worse.FailureReason!,
            @"^Not registered: accuracy = (0\.\d+) on the test set is not at least MinImprovementOverServed = 0 above the served version 1's (0\.\d+) on the same rows\.$");
        Assert.True(reason.Success, worse.FailureReason);
        Assert.True(double.Parse(reason.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) < championAccuracy);
        Assert.Equal(championAccuracy, double.Parse(reason.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(StepStatus.Skipped, worse.Steps.Single(s => s.Name == "Register").Status);
        Assert.Equal(StepStatus.Succeeded, worse.Steps.Single(s => s.Name == "CheckMetric").Status);
        Assert.Contains("MinImprovementOverServed 0 not met", worse.Steps.Single(s => s.Name == "Evaluate").Log);

        // A challenger within the allowed slack is registered, with the champion in its report.
        Assert.True(same.Status == ExecutionStatus.Succeeded, same.FailureReason);
        var report = (await host.Registry.GetPackageAsync("multimodel-bc-v2", CancellationToken.None))!.EvaluationReport;
        var block = report.GetProperty("champion");
        Assert.Equal(1, block.GetProperty("version").GetInt32());
        Assert.Equal("multimodel-bc-v1", block.GetProperty("packageId").GetString());
        Assert.Equal(championAccuracy, block.GetProperty("metrics").GetProperty("accuracy").GetDouble());
        Assert.Equal(report.GetProperty("auc").GetDouble(), block.GetProperty("metrics").GetProperty("auc").GetDouble());
        Assert.True(block.GetProperty("rocCurve").GetArrayLength() > 2);
        Assert.Equal(StepStatus.Skipped, same.Steps.Single(s => s.Name == "WorseThanServed").Status);
        Assert.False((await host.Registry.GetPackageAsync("multimodel-bc-v1", CancellationToken.None))!.EvaluationReport.TryGetProperty("champion", out _));
    }

    [Fact]
    public async Task A_model_below_the_threshold_fails_the_execution_naming_metric_and_threshold()
    {
        await using var host = await PipelineHost.StartAsync();
        await host.Datasets.RegisterAsync("bc", SharedData.Dataset("breast-cancer.csv"), "CLASS", [], CancellationToken.None);

        var execution = await host.RunAsync("multimodel", new
        {
            DatasetName = "bc",
            MaxTuningJobs = 2,
            Algorithms = "NaiveBayes",
            MetricForRegistrationThreshold = "f1",
            MinThesholdForRegisterMetric = 1.0,
        });

        Assert.Equal(ExecutionStatus.Failed, execution.Status);
        Assert.Matches(@"^Not registered: f1 = 0\.\d+ on the test set is below MinThresholdForRegisterMetric = 1(\.0)?\.$", execution.FailureReason);
        Assert.Equal(StepStatus.Skipped, execution.Steps.Single(s => s.Name == "Register").Status);
        Assert.Empty(await host.Registry.ListGroupsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Warm_start_seeds_the_search_with_the_trials_behind_the_groups_registered_versions_of_the_same_scorer()
    {
        await using var host = await PipelineHost.StartAsync();
        await host.Datasets.RegisterAsync("bc", SharedData.Dataset("breast-cancer.csv"), "CLASS", [], CancellationToken.None);
        var cold = await host.RunAsync("multimodel", new { DatasetName = "bc", MaxTuningJobs = 12, CrossValidationFolds = 3, Algorithms = "LogisticRegression,NaiveBayes" });
        var warm = await host.RunAsync("multimodel", new { DatasetName = "bc", MaxTuningJobs = 6, CrossValidationFolds = 3, Algorithms = "LogisticRegression,NaiveBayes", WarmStart = true });
        var otherScorer = await host.RunAsync("multimodel", new { DatasetName = "bc", MaxTuningJobs = 2, CrossValidationFolds = 3, Algorithms = "NaiveBayes", WarmStart = true, CrossValidationScorer = "accuracy" });

        Assert.True(cold.Status == ExecutionStatus.Succeeded, cold.FailureReason);
        Assert.True(warm.Status == ExecutionStatus.Succeeded, warm.FailureReason);
        Assert.Contains("warm start: 12 trials from version(s) 1 of multimodel-bc", warm.Steps.Single(s => s.Name == "Tune").Log);
        Assert.Contains("warm start: multimodel-bc has no registered version tuned with accuracy on 3 folds; starting cold", otherScorer.Steps.Single(s => s.Name == "Tune").Log);

        // Twelve earlier trials pass TPE's ten random start-up trials, so the warm run's first trial is a TPE
        // proposal, not the seed's first random draw that the cold run began with.
        var coldFirst = (await host.Executions.TrialsAsync(cold.Id, CancellationToken.None)).Single(t => t.Number == 0);
        var warmFirst = (await host.Executions.TrialsAsync(warm.Id, CancellationToken.None)).Single(t => t.Number == 0);
        Assert.NotEqual(coldFirst.Parameters!.ToJsonString(), warmFirst.Parameters!.ToJsonString());
    }

    [Fact]
    public async Task A_wall_clock_budget_ends_the_search_and_pruning_can_be_turned_off()
    {
        await using var host = await PipelineHost.StartAsync();
        await host.Datasets.RegisterAsync("bc", SharedData.Dataset("breast-cancer.csv"), "CLASS", [], CancellationToken.None);

        var execution = await host.RunAsync("multimodel", new
        {
            DatasetName = "bc",
            MaxTuningJobs = 10000,
            MaxTuningSeconds = 2,
            TuningPruning = "None",
            CrossValidationFolds = 3,
            Algorithms = "LogisticRegression,NaiveBayes",
        });

        Assert.True(execution.Status == ExecutionStatus.Succeeded, execution.FailureReason);
        var tune = execution.Steps.Single(s => s.Name == "Tune");
        Assert.Contains("stopped by the wall-clock budget of 2 s", tune.Log);
        var trials = await host.Executions.TrialsAsync(execution.Id, CancellationToken.None);
        Assert.InRange(trials.Count, 10, 9999);
        Assert.DoesNotContain(trials, t => t.Status == "Pruned");
    }
}

public sealed class DatasetTests
{
    [Fact]
    public async Task Starting_on_a_dataset_that_is_not_registered_is_refused_naming_the_parameter()
    {
        await using var host = await PipelineHost.StartAsync();

        var error = await Assert.ThrowsAsync<Definitions.ParameterException>(() =>
            host.Executions.StartAsync("multimodel", PipelineHost.Parameters(new { DatasetName = "missing" }), CancellationToken.None));

        var problem = Assert.Single(error.Errors);
        Assert.Equal("DatasetName", problem.Where);
        Assert.Contains("No dataset named 'missing'", problem.Message);
    }

    [Fact]
    public async Task A_dataset_is_read_in_full_when_registered_and_shows_its_schema_and_label_balance()
    {
        await using var host = await PipelineHost.StartAsync();

        var dataset = await host.Datasets.RegisterAsync("bc", SharedData.Dataset("breast-cancer.csv"), "CLASS", ["mean radius"], CancellationToken.None);

        Assert.Equal(569, dataset.RowCount);
        Assert.Equal(29, dataset.Columns.Count);
        Assert.DoesNotContain(dataset.Columns, c => c.Name == "mean radius");
        Assert.Equal(569, dataset.LabelBalance.Values.Sum());
        Assert.Equal(357, dataset.LabelBalance["1"]);
        Assert.Equal(64, dataset.Sha256.Length);
        Assert.Equal(["bc"], (await host.Datasets.ListAsync(CancellationToken.None)).Select(d => d.Name));
    }

    [Fact]
    public async Task A_bad_csv_is_refused_naming_the_line_and_nothing_stored_is_lost()
    {
        await using var host = await PipelineHost.StartAsync();
        await using (var good = new MemoryStream("a,b,y\n1,2,0\n3,4,1\n5,6,0\n"u8.ToArray()))
        {
            await host.Datasets.UploadAsync("tiny", good, "y", [], CancellationToken.None);
        }

        await using var bad = new MemoryStream("a,b,y\n1,2,0\n3,4\n"u8.ToArray());
        var error = await Assert.ThrowsAsync<DatasetException>(() => host.Datasets.UploadAsync("tiny", bad, "y", [], CancellationToken.None));
        var missingTarget = await Assert.ThrowsAsync<DatasetException>(() =>
            host.Datasets.RegisterAsync("bc", SharedData.Dataset("breast-cancer.csv"), "diagnosis", [], CancellationToken.None));

        Assert.Contains("tiny.csv", error.Message);
        Assert.Contains("line 3", error.Message);
        Assert.Contains("diagnosis", missingTarget.Message);
        var kept = await host.Datasets.GetAsync("tiny", CancellationToken.None);
        Assert.Equal(3, kept.RowCount);
        Assert.Equal(3, File.ReadAllLines(host.StoredPath(kept.Path)).Length - 1);
    }
}
