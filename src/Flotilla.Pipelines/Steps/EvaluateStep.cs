using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;
using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Execution;
using Flotilla.Registry;
using Flotilla.Storage.Artifacts;
using ValueType = Flotilla.Pipelines.Definitions.ValueType;

namespace Flotilla.Pipelines.Steps;

/// <summary>
/// Scores the model artifact on the test split and writes evaluation.json (metrics, confusion matrix, ROC and PR
/// curves). Output <c>report</c> names that file, so a reference with a path reads a metric from it (JsonGet).
/// When the endpoint serves a version of the group (the champion), it is scored on the same rows and the report
/// carries it as <c>champion</c>; with <c>minImprovementOverServed</c>, output <c>championGate</c> says whether the
/// challenger's <c>metric</c> beats the champion's by at least that much. Given <c>train</c> (the rows the model was
/// fit on), the report also carries the <see cref="TrainingProfile"/> as <c>profile</c>, which the registry keeps
/// with the package and the endpoint measures drift against.
/// </summary>
public sealed class EvaluateStep(IServedModels served, IArtifactStore artifacts) : StepKind
{
    public override string Type => "Evaluate";

    public override IReadOnlyList<InputSpec> Inputs { get; } =
    [
        new("model", ValueType.String),
        new("test", ValueType.String),
        new("target", ValueType.String),
        new("train", ValueType.String, Required: false),
        new("group", ValueType.String, Required: false),
        new("dataset", ValueType.String, Required: false),
        new("metric", ValueType.String, Required: false),
        new("minImprovementOverServed", ValueType.String, Required: false),
    ];

    public override IReadOnlyList<OutputSpec> Outputs { get; } =
    [
        new("report", ValueType.String, IsFile: true),
        new("metrics", ValueType.Json),
        new("champion", ValueType.Json),
        new("championGate", ValueType.Bool),
    ];

    /// <summary>The value of <c>minImprovementOverServed</c> that turns the champion gate off (its default).</summary>
    public const string GateOff = "off";

    public override async Task<JsonObject> RunAsync(StepContext context, CancellationToken cancellationToken)
    {
        var modelPath = StepInputs.String(context.Inputs, "model");
        var testPath = StepInputs.String(context.Inputs, "test");
        var target = StepInputs.String(context.Inputs, "target");
        var trainPath = context.Inputs["train"] is null ? null : StepInputs.String(context.Inputs, "train");
        var bytes = await File.ReadAllBytesAsync(modelPath, cancellationToken);
        var (report, members, profile) = await Task.Run(() =>
        {
            var model = ModelArtifact.Load(bytes, ModelArtifact.Sha256(bytes));
            var test = TableReader.Read(testPath, new CsvOptions(target), cancellationToken);
            var report = Evaluate(model, test, context.Where);
            // The endpoint's drift windows compare live traffic with this; without the training rows there is none.
            var profile = trainPath is null ? null
                : TrainingProfile.Compute(model, TableReader.Read(trainPath, new CsvOptions(target), cancellationToken), test);
            return (report, model.Metadata.Members, profile);
        }, cancellationToken);

        var metric = StepInputs.String(context.Inputs, "metric", "auc");
        var minImprovement = MinImprovement(context);
        if (!EvaluationReport.MetricNames.Contains(metric))
        {
            throw new StepFailedException($"{context.Where}.inputs.metric: '{metric}' is not one of {string.Join(", ", EvaluationReport.MetricNames)}.");
        }
        var group = context.Inputs["group"] is not null
            ? StepInputs.String(context.Inputs, "group")
            : context.Inputs["dataset"] is not null ? ModelRegistry.GroupName(context.Pipeline.Name, StepInputs.String(context.Inputs, "dataset")) : null;
        var (champion, championReport) = group is null ? (null, null) : await ChampionAsync(context, group, testPath, target, minImprovement is not null, cancellationToken);

        var json = JsonNode.Parse(report.ToJson())!.AsObject();
        if (members is not null)
        {
            // An ensemble's report names what it blends, so the package page can show it.
            json["ensemble"] = JsonSerializer.SerializeToNode(members, EvaluationReport.JsonOptions);
        }
        if (profile is not null)
        {
            json["profile"] = JsonSerializer.SerializeToNode(profile, EvaluationReport.JsonOptions);
        }
        if (champion is not null)
        {
            json["champion"] = new JsonObject
            {
                ["version"] = champion.Version,
                ["packageId"] = champion.PackageId,
                ["artifactSha256"] = champion.ArtifactSha256,
                ["threshold"] = championReport!.Threshold,
                ["metrics"] = Metrics(championReport),
                ["rocCurve"] = JsonSerializer.SerializeToNode(championReport.RocCurve, EvaluationReport.JsonOptions),
            };
        }
        var reportPath = Path.Combine(context.WorkDirectory, "evaluation.json");
        await File.WriteAllTextAsync(reportPath, json.ToJsonString(EvaluationReport.JsonOptions), cancellationToken);
        context.Log.Line(string.Join(", ", EvaluationReport.MetricNames.Select(n => string.Create(CultureInfo.InvariantCulture, $"{n} {report.Metric(n):0.####}"))) + $" on {report.Rows} test rows");

        var gate = true;
        if (champion is not null)
        {
            var difference = report.Metric(metric) - championReport!.Metric(metric);
            gate = minImprovement is not { } min || difference >= min;
            context.Log.Line(string.Create(CultureInfo.InvariantCulture,
                $"champion: served version {champion.Version} of {group} scores {metric} {championReport.Metric(metric):0.####} on the same rows; challenger − champion = {difference:+0.####;-0.####;0}{(minImprovement is { } m ? $", MinImprovementOverServed {m} {(gate ? "met" : "not met")}" : "")}"));
        }
        else if (group is not null)
        {
            context.Log.Line($"champion: the endpoint serves no version of {group}, so there is nothing to compare with");
        }
        return new JsonObject
        {
            ["report"] = reportPath,
            ["metrics"] = Metrics(report),
            ["champion"] = champion is null ? null : new JsonObject { ["version"] = champion.Version, ["packageId"] = champion.PackageId, ["metrics"] = Metrics(championReport!) },
            ["championGate"] = gate,
        };
    }

    private static JsonObject Metrics(EvaluationReport report)
    {
        var metrics = new JsonObject();
        foreach (var name in EvaluationReport.MetricNames)
        {
            metrics[name] = report.Metric(name);
        }
        return metrics;
    }

    /// <summary>The required improvement over the champion, or null when the gate is off.</summary>
    private static double? MinImprovement(StepContext context)
    {
        var node = context.Inputs["minImprovementOverServed"];
        if (node is null)
        {
            return null;
        }
        if (JsonNumber.TryGet(node, out var number))
        {
            return number;
        }
        var text = StepInputs.String(context.Inputs, "minImprovementOverServed");
        if (string.Equals(text, GateOff, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out number) && double.IsFinite(number)
            ? number
            : throw new StepFailedException($"{context.Where}.inputs.minImprovementOverServed: '{text}' is neither '{GateOff}' nor a number.");
    }

    /// <summary>
    /// The served version of <paramref name="group"/> scored on the test rows. When it cannot be scored (its artifact
    /// is gone, or it was trained on other columns) the gate cannot be decided, so a required gate fails the step
    /// and an informational comparison is only logged.
    /// </summary>
    private async Task<(ServedModel?, EvaluationReport?)> ChampionAsync(
        StepContext context, string group, string testPath, string target, bool required, CancellationToken cancellationToken)
    {
        var champion = await served.GetAsync(group, cancellationToken);
        if (champion is null)
        {
            return (null, null);
        }
        try
        {
            var bytes = await artifacts.ReadVerifiedAsync(champion.ArtifactSha256, cancellationToken);
            var report = await Task.Run(() =>
            {
                var model = ModelArtifact.Load(bytes, champion.ArtifactSha256);
                var test = TableReader.Read(testPath, new CsvOptions(target), cancellationToken);
                return Evaluate(model, test, context.Where);
            }, cancellationToken);
            return (champion, report);
        }
        catch (Exception e) when (e is ArtifactNotFoundException or ArtifactIntegrityException or ArtifactException or StepFailedException or IOException)
        {
            var reason = $"the served version {champion.Version} of {group} ({champion.PackageId}) cannot be scored on the test rows: {e.Message}";
            if (required)
            {
                throw new StepFailedException($"{context.Where}: MinImprovementOverServed needs the champion's score, but {reason}");
            }
            context.Log.Line("champion: " + reason);
            return (null, null);
        }
    }

    /// <summary>P(positive) for every test row, encoded the way the model's schema says, then the report.</summary>
    internal static EvaluationReport Evaluate(LoadedModel model, Table test, string where)
    {
        var features = model.Schema.Features;
        var columns = new int[features.Count];
        for (var f = 0; f < features.Count; f++)
        {
            columns[f] = test.Columns.Select((c, i) => (c, i)).FirstOrDefault(x => x.c.Name == features[f].Name, (null!, -1)).Item2;
            if (columns[f] < 0)
            {
                throw new StepFailedException($"{where}: the test data has no column '{features[f].Name}' that the model was trained on.");
            }
        }

        var labels = new bool[test.RowCount];
        var probabilities = new double[test.RowCount];
        var row = new float[features.Count];
        for (var r = 0; r < test.RowCount; r++)
        {
            for (var f = 0; f < features.Count; f++)
            {
                var c = columns[f];
                row[f] = test.IsMissing(c, r) ? float.NaN
                    : test.Columns[c].Kind == ColumnKind.Numeric
                        ? (features[f].Kind == ColumnKind.Numeric ? (float)test.Number(c, r) : model.Schema.CategoryIndex(f, test.Number(c, r).ToString(CultureInfo.InvariantCulture)))
                        : (features[f].Kind == ColumnKind.Categorical ? model.Schema.CategoryIndex(f, test.Category(c, r)!) : float.NaN);
            }
            probabilities[r] = model.PositiveProbability(row);
            // Compare original label values: the test file alone may map labels differently (e.g. one class only).
            labels[r] = test.LabelMapping[test.Label(r)] == model.Schema.LabelMapping.Positive;
        }
        return Evaluator.Report(labels, probabilities, model.Schema.LabelMapping, model.DecisionThreshold, model.Metadata.DecisionThresholdRule);
    }
}
