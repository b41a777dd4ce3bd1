using System.Globalization;
using System.Text.Json.Nodes;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;
using Flotilla.Pipelines.Execution;
using ValueType = Flotilla.Pipelines.Definitions.ValueType;

namespace Flotilla.Pipelines.Steps;

/// <summary>
/// Scores the model artifact on the test split and writes evaluation.json (metrics, confusion matrix, ROC and PR
/// curves). Output <c>report</c> names that file, so a reference with a path reads a metric from it (JsonGet).
/// </summary>
public sealed class EvaluateStep : StepKind
{
    public override string Type => "Evaluate";

    public override IReadOnlyList<InputSpec> Inputs { get; } =
    [
        new("model", ValueType.String),
        new("test", ValueType.String),
        new("target", ValueType.String),
    ];

    public override IReadOnlyList<OutputSpec> Outputs { get; } =
    [
        new("report", ValueType.String),
        new("metrics", ValueType.Json),
    ];

    public override async Task<JsonObject> RunAsync(StepContext context, CancellationToken cancellationToken)
    {
        var modelPath = StepInputs.String(context.Inputs, "model");
        var testPath = StepInputs.String(context.Inputs, "test");
        var target = StepInputs.String(context.Inputs, "target");
        var bytes = await File.ReadAllBytesAsync(modelPath, cancellationToken);
        var report = await Task.Run(() =>
        {
            var model = ModelArtifact.Load(bytes, ModelArtifact.Sha256(bytes));
            var test = TableReader.Read(testPath, new CsvOptions(target), cancellationToken);
            return Evaluate(model, test, context.Where);
        }, cancellationToken);

        var reportPath = Path.Combine(context.WorkDirectory, "evaluation.json");
        await File.WriteAllTextAsync(reportPath, report.ToJson(), cancellationToken);
        var metrics = new JsonObject();
        foreach (var name in EvaluationReport.MetricNames)
        {
            metrics[name] = report.Metric(name);
        }
        context.Log.Line(string.Join(", ", EvaluationReport.MetricNames.Select(n => string.Create(CultureInfo.InvariantCulture, $"{n} {report.Metric(n):0.####}"))) + $" on {report.Rows} test rows");
        return new JsonObject { ["report"] = reportPath, ["metrics"] = metrics };
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
