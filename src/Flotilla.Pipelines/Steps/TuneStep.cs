using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Flotilla.Learning.Data;
using Flotilla.Pipelines.Execution;
using Flotilla.Tuning;
using ValueType = Flotilla.Pipelines.Definitions.ValueType;

namespace Flotilla.Pipelines.Steps;

/// <summary>
/// Joint search over the algorithm families on the train split. Each trial is persisted the moment it ends;
/// when the step runs again after a crash, the trials already kept are handed to the tuner and not rerun.
/// </summary>
public sealed class TuneStep(TimeProvider time) : StepKind
{
    internal static readonly JsonSerializerOptions TrialJson = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
    };

    public override string Type => "Tune";

    public override IReadOnlyList<InputSpec> Inputs { get; } =
    [
        new("train", ValueType.String),
        new("target", ValueType.String),
        new("scorer", ValueType.String, Required: false),
        new("folds", ValueType.Int, Required: false),
        new("strategy", ValueType.String, Required: false),
        new("maxTrials", ValueType.Int, Required: false),
        new("parallelism", ValueType.Int, Required: false),
        new("algorithms", ValueType.List, Required: false),
        new("seed", ValueType.Int, Required: false),
    ];

    public override IReadOnlyList<OutputSpec> Outputs { get; } =
    [
        new("bestAlgorithm", ValueType.String),
        new("bestParameters", ValueType.Json),
        new("bestScore", ValueType.Float),
        new("scorer", ValueType.String),
        new("trials", ValueType.Int),
    ];

    public override async Task<JsonObject> RunAsync(StepContext context, CancellationToken cancellationToken)
    {
        var inputs = context.Inputs;
        var strategyText = StepInputs.String(inputs, "strategy", nameof(TuningStrategy.Tpe));
        if (!Enum.TryParse<TuningStrategy>(strategyText, ignoreCase: true, out var strategy))
        {
            throw new StepFailedException($"{context.Where}.inputs.strategy: '{strategyText}' is not one of {string.Join(", ", Enum.GetNames<TuningStrategy>())}.");
        }

        var completed = context.CompletedTrials
            .Select(t => JsonSerializer.Deserialize<TrialRecord>(t.Data, TrialJson)!)
            .ToList();
        var options = new TuningOptions
        {
            Scorer = StepInputs.String(inputs, "scorer", "roc_auc"),
            Folds = StepInputs.Int(inputs, "folds", 5),
            Strategy = strategy,
            MaxTrials = StepInputs.Int(inputs, "maxTrials", 60),
            MaxParallelTrials = StepInputs.Int(inputs, "parallelism", 6),
            Algorithms = StepInputs.List(inputs, "algorithms"),
            Seed = StepInputs.Int(inputs, "seed", 42),
            Completed = completed,
        };

        Table train;
        try
        {
            var path = StepInputs.String(inputs, "train");
            train = await Task.Run(() => TableReader.Read(path, new CsvOptions(StepInputs.String(inputs, "target")), cancellationToken), cancellationToken);
        }
        catch (DataFormatException e)
        {
            throw new StepFailedException($"{context.Where}.inputs.train: {e.Message}");
        }

        if (completed.Count > 0)
        {
            context.Log.Line($"resuming: {completed.Count} of {options.MaxTrials} trials were already completed and are kept");
        }
        context.Log.Line($"tuning {string.Join(", ", options.Algorithms ?? ["all families"])} with {options.Strategy}, {options.MaxTrials} trials, {options.Folds} folds, scorer {options.Scorer}");

        TuningResult result;
        try
        {
            result = await new Tuner(time).RunAsync(
                new InProcessTrialExecutor(train),
                options,
                async (e, ct) =>
                {
                    if (e is TrialFinished finished)
                    {
                        var t = finished.Trial;
                        context.Log.Line(string.Create(CultureInfo.InvariantCulture,
                            $"trial {t.Number} {t.Algorithm} {t.Status} score {t.Mean?.ToString("0.####", CultureInfo.InvariantCulture) ?? "-"} in {t.Seconds:0.##} s ({finished.Finished}/{finished.Planned}){(t.Reason is null ? "" : ": " + t.Reason)}"));
                        await context.TrialCompleted(ToExecutionTrial(context.Step.Name, t), ct);
                    }
                },
                cancellationToken);
        }
        catch (Exception e) when (e is ArgumentException or TuningFailedException)
        {
            throw new StepFailedException($"{context.Where}: {e.Message}");
        }

        var best = result.Best;
        context.Log.Line(string.Create(CultureInfo.InvariantCulture,
            $"best: trial {best.Number} {best.Algorithm} ({best.Parameters}) {options.Scorer} {best.Mean:0.####}; {result.Trials.Count} trials, {result.Pruned} pruned, {result.Failed} failed, parallelism {result.EffectiveParallelism}, {result.WallTime.TotalSeconds:0.#} s"));
        return new JsonObject
        {
            ["bestAlgorithm"] = best.Algorithm,
            ["bestParameters"] = JsonSerializer.SerializeToNode(best.Parameters),
            ["bestScore"] = best.Mean,
            ["bestTrial"] = best.Number,
            ["scorer"] = options.Scorer,
            ["trials"] = result.Trials.Count,
            ["pruned"] = result.Pruned,
            ["failed"] = result.Failed,
        };
    }

    internal static ExecutionTrial ToExecutionTrial(string step, TrialRecord t) => new(
        step, t.Number, t.Algorithm, JsonSerializer.SerializeToNode(t.Parameters), t.FoldScores, t.Mean,
        t.Status.ToString(), t.Seconds, JsonSerializer.Serialize(t, TrialJson));
}
