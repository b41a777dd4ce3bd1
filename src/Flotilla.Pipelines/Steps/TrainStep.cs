using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;
using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Execution;
using Flotilla.Storage.Artifacts;
using ValueType = Flotilla.Pipelines.Definitions.ValueType;

namespace Flotilla.Pipelines.Steps;

/// <summary>Fits one algorithm with given hyper-parameters on the whole train split (the refit) and stores the artifact.</summary>
public sealed class TrainStep(IArtifactStore artifacts) : StepKind
{
    public override string Type => "Train";

    public override IReadOnlyList<InputSpec> Inputs { get; } =
    [
        new("train", ValueType.String),
        new("target", ValueType.String),
        new("algorithm", ValueType.String),
        new("parameters", ValueType.Json, Required: false),
        new("seed", ValueType.Int, Required: false),
        new("cvScore", ValueType.Float, Required: false),
        new("scorer", ValueType.String, Required: false),
        new("datasetSha256", ValueType.String, Required: false),
    ];

    public override IReadOnlyList<OutputSpec> Outputs { get; } =
    [
        new("model", ValueType.String, IsFile: true),
        new("sha256", ValueType.String),
        new("size", ValueType.Int),
        new("algorithm", ValueType.String),
        new("parameters", ValueType.Json),
    ];

    public override async Task<JsonObject> RunAsync(StepContext context, CancellationToken cancellationToken)
    {
        var inputs = context.Inputs;
        IAlgorithm algorithm;
        HyperParameters parameters;
        try
        {
            algorithm = AlgorithmCatalog.Get(StepInputs.String(inputs, "algorithm"));
            parameters = inputs["parameters"] is JsonObject p ? p.Deserialize<HyperParameters>()! : HyperParameters.Empty;
            algorithm.Space.Validate(parameters);
        }
        catch (Exception e) when (e is ArgumentException or JsonException)
        {
            throw new StepFailedException($"{context.Where}: {e.Message}");
        }

        var seed = StepInputs.Int(inputs, "seed", 42);
        var trainPath = StepInputs.String(inputs, "train");
        var (model, bytes) = await Task.Run(() =>
        {
            var train = TableReader.Read(trainPath, new CsvOptions(StepInputs.String(inputs, "target")), cancellationToken);
            var fitted = algorithm.Fit(train, parameters, seed, cancellationToken);
            if (JsonNumber.Get(inputs["cvScore"]) is { } score)
            {
                fitted = fitted.WithCrossValidation(score, StepInputs.String(inputs, "scorer", "roc_auc"));
            }
            return (fitted, ModelArtifact.Serialize(fitted));
        }, cancellationToken);

        var path = Path.Combine(context.WorkDirectory, "model.flm");
        await File.WriteAllBytesAsync(path, bytes, cancellationToken);
        var stored = await artifacts.PutAsync(bytes, cancellationToken);
        context.Log.Line(string.Create(CultureInfo.InvariantCulture,
            $"fitted {algorithm.Name} ({parameters}) on {model.Metadata.TrainingRows} rows; artifact {stored.Sha256} ({bytes.Length} bytes) at {stored.Uri}"));
        return new JsonObject
        {
            ["model"] = path,
            ["sha256"] = stored.Sha256,
            ["size"] = stored.Size,
            ["artifactUri"] = stored.Uri.ToString(),
            ["algorithm"] = algorithm.Name,
            ["parameters"] = JsonSerializer.SerializeToNode(model.Metadata.HyperParameters),
        };
    }
}
