using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;
using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Execution;
using Flotilla.Storage.Artifacts;
using ValueType = Flotilla.Pipelines.Definitions.ValueType;

namespace Flotilla.Pipelines.Steps;

/// <summary>
/// Fits one algorithm with given hyper-parameters on the whole train split (the refit), chooses its decision
/// threshold on out-of-fold predictions of the training rows (never on the test rows) and stores the artifact.
/// With an <c>ensemble</c> of two or more members (the Tune step's choice) it refits every member instead and stores
/// them as one artifact scoring their weighted mean (see <see cref="EnsembleRefit"/>).
/// </summary>
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
        new("decisionThreshold", ValueType.String, Required: false),
        new("outOfFold", ValueType.String, Required: false),
        new("folds", ValueType.Int, Required: false),
        new("ensemble", ValueType.Json, Required: false),
    ];

    public override IReadOnlyList<OutputSpec> Outputs { get; } =
    [
        new("model", ValueType.String, IsFile: true),
        new("sha256", ValueType.String),
        new("size", ValueType.Int),
        new("algorithm", ValueType.String),
        new("parameters", ValueType.Json),
        new("decisionThreshold", ValueType.Float),
    ];

    public override async Task<JsonObject> RunAsync(StepContext context, CancellationToken cancellationToken)
    {
        var inputs = context.Inputs;
        IAlgorithm algorithm;
        HyperParameters parameters;
        DecisionThreshold? rule;
        IReadOnlyList<EnsembleChoiceMember> members;
        try
        {
            members = EnsembleChoice.Parse(inputs["ensemble"]);
            algorithm = AlgorithmCatalog.Get(StepInputs.String(inputs, "algorithm"));
            parameters = inputs["parameters"] is JsonObject p ? p.Deserialize<HyperParameters>()! : HyperParameters.Empty;
            algorithm.Space.Validate(parameters);
            rule = inputs["decisionThreshold"] is null ? null : DecisionThreshold.Parse(ThresholdText(inputs["decisionThreshold"]!));
        }
        catch (Exception e) when (e is ArgumentException or JsonException)
        {
            throw new StepFailedException($"{context.Where}: {e.Message}");
        }

        var seed = StepInputs.Int(inputs, "seed", 42);
        var trainPath = StepInputs.String(inputs, "train");
        var outOfFoldPath = inputs["outOfFold"] is JsonValue o && o.TryGetValue<string>(out var given) && given.Length > 0 ? given : null;
        var folds = StepInputs.Int(inputs, "folds", 5);
        var (model, bytes, thresholdSource) = await Task.Run(async () =>
        {
            var train = TableReader.Read(trainPath, new CsvOptions(StepInputs.String(inputs, "target")), cancellationToken);
            var fitted = members.Count > 1
                ? EnsembleRefit.Fit(train, members, seed, cancellationToken)
                : algorithm.Fit(train, parameters, seed, cancellationToken);
            if (JsonNumber.Get(inputs["cvScore"]) is { } score)
            {
                fitted = fitted.WithCrossValidation(score, StepInputs.String(inputs, "scorer", "roc_auc"));
            }
            var source = "";
            if (rule is not null)
            {
                double threshold;
                (threshold, source) = await ChooseThresholdAsync(rule, train, algorithm, parameters, members, folds, seed, outOfFoldPath, context.Where, cancellationToken);
                fitted = fitted.WithDecisionThreshold(threshold, rule.Rule);
            }
            return (fitted, ModelArtifact.Serialize(fitted), source);
        }, cancellationToken);

        var path = Path.Combine(context.WorkDirectory, "model.flm");
        await File.WriteAllBytesAsync(path, bytes, cancellationToken);
        var stored = await artifacts.PutAsync(bytes, cancellationToken);
        if (model.Metadata.Members is { } fittedMembers)
        {
            context.Log.Line(string.Create(CultureInfo.InvariantCulture,
                $"ensemble of {fittedMembers.Count}: {string.Join(", ", fittedMembers.Select(m => $"#{m.Trial} {m.Algorithm} ({m.Parameters}) ×{m.Weight:0.###}"))}"));
        }
        context.Log.Line(string.Create(CultureInfo.InvariantCulture,
            $"fitted {model.Metadata.Algorithm}{(model.Metadata.Members is null ? $" ({parameters})" : "")} on {model.Metadata.TrainingRows} rows; artifact {stored.Sha256} ({bytes.Length} bytes) at {stored.Uri}"));
        if (rule is not null)
        {
            context.Log.Line(string.Create(CultureInfo.InvariantCulture,
                $"decision threshold {model.Metadata.DecisionThreshold:0.####} ({rule.Rule}{thresholdSource})"));
        }
        return new JsonObject
        {
            ["model"] = path,
            ["sha256"] = stored.Sha256,
            ["size"] = stored.Size,
            ["artifactUri"] = stored.Uri.ToString(),
            ["algorithm"] = model.Metadata.Algorithm,
            ["parameters"] = JsonSerializer.SerializeToNode(model.Metadata.HyperParameters),
            ["decisionThreshold"] = model.Metadata.DecisionThreshold ?? DecisionThreshold.Default,
        };
    }

    /// <summary>A parameter given as text, or as a number by a caller that bypassed the binder.</summary>
    private static string ThresholdText(JsonNode value) =>
        JsonNumber.TryGet(value, out var number) ? number.ToString("R", CultureInfo.InvariantCulture) : value.GetValue<string>();

    /// <summary>
    /// The cut chosen on the tuner's out-of-fold probabilities of the winning configuration (the Tune step's
    /// file, one per training row). When there are none — the winner was a trial kept from before a restart —
    /// the same folds are run again for it: the partition and learners are seeded, so the probabilities are the same.
    /// </summary>
    private static async Task<(double Threshold, string Source)> ChooseThresholdAsync(
        DecisionThreshold rule, Table train, IAlgorithm algorithm, HyperParameters parameters, IReadOnlyList<EnsembleChoiceMember> members, int folds, int seed,
        string? outOfFoldPath, string where, CancellationToken cancellationToken)
    {
        if (rule.Fixed is { } fixedValue)
        {
            return (fixedValue, "");
        }
        double[]? probabilities = null;
        var source = " on the tuner's out-of-fold predictions";
        if (outOfFoldPath is not null)
        {
            var lines = await File.ReadAllLinesAsync(outOfFoldPath, cancellationToken);
            probabilities = [.. lines.Select(l => double.Parse(l, NumberStyles.Float, CultureInfo.InvariantCulture))];
            if (probabilities.Length != train.RowCount)
            {
                throw new StepFailedException($"{where}.inputs.outOfFold: {probabilities.Length} probabilities for {train.RowCount} training rows; the file is not this training split's.");
            }
        }
        if (probabilities is null && members.Count > 1)
        {
            probabilities = EnsembleRefit.OutOfFold(train, members, folds, seed, cancellationToken);
            source = string.Create(CultureInfo.InvariantCulture, $" on the ensemble's out-of-fold predictions from a fresh {folds}-fold run");
        }
        else if (probabilities is null)
        {
            var result = CrossValidation.Run(algorithm, parameters, train, folds, Scorer.RocAuc, seed, null, cancellationToken);
            probabilities = [.. result.OutOfFold!];
            source = string.Create(CultureInfo.InvariantCulture, $" on out-of-fold predictions of a fresh {folds}-fold run");
        }
        var labels = new bool[train.RowCount];
        for (var r = 0; r < labels.Length; r++)
        {
            labels[r] = train.Label(r);
        }
        return (rule.Choose(labels, probabilities), source);
    }
}
