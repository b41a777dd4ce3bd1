using System.Globalization;
using System.Text.Json.Nodes;
using Flotilla.Pipelines.Datasets;
using Flotilla.Pipelines.Definitions;
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
        new("train", ValueType.String),
        new("test", ValueType.String),
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
        var file = new FileInfo(dataset.Path);
        return new JsonObject
        {
            ["sha256"] = dataset.Sha256,
            ["target"] = dataset.Target,
            ["exclude"] = string.Join(",", dataset.Exclude),
            ["file"] = file.Exists ? $"{file.Length}:{file.LastWriteTimeUtc.Ticks}" : "missing",
        };
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
        var (train, test) = table.Split(testSize, stratify, seed);
        var trainPath = Path.Combine(context.WorkDirectory, "train.csv");
        var testPath = Path.Combine(context.WorkDirectory, "test.csv");
        await Task.Run(() =>
        {
            train.WriteCsv(trainPath);
            test.WriteCsv(testPath);
        }, cancellationToken);
        context.Log.Line(string.Create(CultureInfo.InvariantCulture, $"split {(stratify ? "stratified" : "at random")} with seed {seed}: {train.RowCount} train rows, {test.RowCount} test rows"));
        return new JsonObject
        {
            ["train"] = trainPath,
            ["test"] = testPath,
            ["target"] = table.LabelName,
            ["datasetSha256"] = table.Sha256,
            ["rows"] = table.RowCount,
            ["trainRows"] = train.RowCount,
            ["testRows"] = test.RowCount,
        };
    }
}

/// <summary>Typed reads of a step's resolved inputs, with the input named when one is missing or of the wrong type.</summary>
internal static class StepInputs
{
    public static string String(JsonObject inputs, string name) =>
        inputs[name] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0
            ? s
            : throw new StepFailedException($"input '{name}' must be a non-empty string (was {inputs[name]?.ToJsonString() ?? "missing"}).");

    public static string String(JsonObject inputs, string name, string fallback) =>
        inputs[name] is null ? fallback : String(inputs, name);

    public static double Double(JsonObject inputs, string name, double fallback) => inputs[name] switch
    {
        null => fallback,
        var n when JsonNumber.TryGet(n, out var d) => d,
        JsonValue v when v.TryGetValue<string>(out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        var other => throw new StepFailedException($"input '{name}' must be a number (was {other.ToJsonString()})."),
    };

    public static int Int(JsonObject inputs, string name, int fallback)
    {
        var value = Double(inputs, name, fallback);
        return value == Math.Round(value) && value is >= int.MinValue and <= int.MaxValue
            ? (int)value
            : throw new StepFailedException($"input '{name}' must be a whole number (was {value.ToString(CultureInfo.InvariantCulture)}).");
    }

    public static bool Bool(JsonObject inputs, string name, bool fallback) => inputs[name] switch
    {
        null => fallback,
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        JsonValue v when v.TryGetValue<string>(out var s) && bool.TryParse(s, out var b) => b,
        var other => throw new StepFailedException($"input '{name}' must be true or false (was {other.ToJsonString()})."),
    };

    public static IReadOnlyList<string>? List(JsonObject inputs, string name) => inputs[name] switch
    {
        null => null,
        JsonArray a => [.. a.Select(i => i?.GetValue<string>() ?? "")],
        JsonValue v when v.TryGetValue<string>(out var s) => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        var other => throw new StepFailedException($"input '{name}' must be a list of names (was {other.ToJsonString()})."),
    };
}
