using System.Globalization;
using System.Text.Json.Nodes;
using Flotilla.Pipelines.Datasets;
using Flotilla.Pipelines.Execution;
using ValueType = Flotilla.Pipelines.Definitions.ValueType;

namespace Flotilla.Pipelines.Steps;

/// <summary>Reads a registered dataset and splits it (stratified if asked, seeded) into train.csv and test.csv.</summary>
public sealed class PreprocessStep(DatasetCatalog datasets) : StepKind
{
    public override string Type => "Preprocess";

    public override IReadOnlyList<InputSpec> Inputs { get; } =
    [
        new("dataset", ValueType.String),
        new("testSize", ValueType.Float, Required: false),
        new("stratify", ValueType.Bool, Required: false),
        new("seed", ValueType.Int, Required: false),
    ];

    public override IReadOnlyList<OutputSpec> Outputs { get; } =
    [
        new("train", ValueType.String, IsFile: true),
        new("test", ValueType.String, IsFile: true),
        new("target", ValueType.String),
        new("datasetSha256", ValueType.String),
        new("rows", ValueType.Int),
        new("trainRows", ValueType.Int),
        new("testRows", ValueType.Int),
    ];

    // A dataset re-registered under the same name with other content must not hit the cache.
    public override async Task<JsonNode?> CacheMaterialAsync(JsonObject inputs, CancellationToken cancellationToken)
    {
        var dataset = await datasets.GetAsync(StepInputs.String(inputs, "dataset"), cancellationToken);
        var material = new JsonObject
        {
            ["sha256"] = dataset.Sha256,
            ["target"] = dataset.Target,
            ["exclude"] = string.Join(",", dataset.Exclude),
        };
        // A file read in place may change after it was registered; one in the artifact store is named by its hash,
        // and its local copy's times differ from machine to machine, so they must not split the cache.
        if (!DatasetCatalog.IsStored(dataset))
        {
            var file = new FileInfo(dataset.Path);
            material["file"] = file.Exists ? $"{file.Length}:{file.LastWriteTimeUtc.Ticks}" : "missing";
        }
        return material;
    }

    public override async Task<JsonObject> RunAsync(StepContext context, CancellationToken cancellationToken)
    {
        var name = StepInputs.String(context.Inputs, "dataset");
        var testSize = StepInputs.Double(context.Inputs, "testSize", 0.2);
        var stratify = StepInputs.Bool(context.Inputs, "stratify", true);
        var seed = StepInputs.Int(context.Inputs, "seed", 42);
        if (testSize is <= 0 or >= 1)
        {
            throw new StepFailedException($"{context.Where}.inputs.testSize: {testSize} must be between 0 and 1 (exclusive).");
        }

        Dataset dataset;
        Learning.Data.Table table;
        try
        {
            (dataset, table) = await datasets.LoadAsync(name, cancellationToken);
        }
        catch (Exception e) when (e is NotFoundException or DatasetException)
        {
            throw new StepFailedException($"{context.Where}: {e.Message}");
        }

        context.Log.Line($"read {dataset.Path}: {table.RowCount} rows, {table.Columns.Count} features, label '{table.LabelName}' ({table.LabelMapping.Positive}: {table.PositiveCount}, {table.LabelMapping.Negative}: {table.NegativeCount})");
        // The two parts are written straight from the table's rows: no copy of the table per part.
        var (train, test) = table.SplitRows(testSize, stratify, seed);
        var trainPath = Path.Combine(context.WorkDirectory, "train.csv");
        var testPath = Path.Combine(context.WorkDirectory, "test.csv");
        await Task.Run(() =>
        {
            table.WriteCsv(trainPath, train);
            table.WriteCsv(testPath, test);
        }, cancellationToken);
        context.Log.Line(string.Create(CultureInfo.InvariantCulture, $"split {(stratify ? "stratified" : "at random")} with seed {seed}: {train.Length} train rows, {test.Length} test rows"));
        return new JsonObject
        {
            ["train"] = trainPath,
            ["test"] = testPath,
            ["target"] = table.LabelName,
            ["datasetSha256"] = table.Sha256,
            ["rows"] = table.RowCount,
            ["trainRows"] = train.Length,
            ["testRows"] = test.Length,
        };
    }
}
