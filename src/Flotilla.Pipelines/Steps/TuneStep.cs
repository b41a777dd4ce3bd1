using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Flotilla.Learning.Data;
using Flotilla.Pipelines.Execution;
using Flotilla.Pipelines.Storage;
using Flotilla.Registry;
using Flotilla.Tuning;
using ValueType = Flotilla.Pipelines.Definitions.ValueType;

namespace Flotilla.Pipelines.Steps;

/// <summary>
/// Joint search over the algorithm families on the train split. Each trial is persisted the moment it ends;
/// when the step runs again after a crash, the trials already kept are handed to the tuner and not rerun.
/// With <c>warmStart</c>, the trials behind the model group's latest registered versions seed the search.
/// </summary>
public sealed class TuneStep(TimeProvider time, ModelRegistry registry, ExecutionStore executions) : StepKind
{
    /// <summary>How many of the group's latest versions lend their trials to a warm start.</summary>
    internal const int WarmStartVersions = 5;

    internal static readonly JsonSerializerOptions TrialJson = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
    };

    public override string Type => "Tune";

    // A retried or resumed tuning run goes on from the trials it finished instead of starting over.
    public override bool KeepsTrials => true;

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
        new("pruning", ValueType.String, Required: false),
        new("maxSeconds", ValueType.Float, Required: false),
        new("warmStart", ValueType.Bool, Required: false),
        new("dataset", ValueType.String, Required: false),
        new("group", ValueType.String, Required: false),
    ];

    public override IReadOnlyList<OutputSpec> Outputs { get; } =
    [
        new("bestAlgorithm", ValueType.String),
        new("bestParameters", ValueType.Json),
        new("bestScore", ValueType.Float),
        new("scorer", ValueType.String),
        new("folds", ValueType.Int),
        new("trials", ValueType.Int),
        new("planned", ValueType.Int),
        new("outOfFold", ValueType.String, IsFile: true),
    ];

    public override async Task<JsonObject> RunAsync(StepContext context, CancellationToken cancellationToken)
    {
        var inputs = context.Inputs;
        // An input left out takes the tuner's own default: each is written once, in TuningOptions.
        var defaults = new TuningOptions();
        var strategyText = StepInputs.String(inputs, "strategy", defaults.Strategy.ToString());
        if (!Enum.TryParse<TuningStrategy>(strategyText, ignoreCase: true, out var strategy))
        {
            throw new StepFailedException($"{context.Where}.inputs.strategy: '{strategyText}' is not one of {string.Join(", ", Enum.GetNames<TuningStrategy>())}.");
        }

        var pruningText = StepInputs.String(inputs, "pruning", defaults.Pruning.ToString());
        if (!Enum.TryParse<PruningMode>(pruningText, ignoreCase: true, out var pruning))
        {
            throw new StepFailedException($"{context.Where}.inputs.pruning: '{pruningText}' is not one of {string.Join(", ", Enum.GetNames<PruningMode>())}.");
        }

        var maxSeconds = StepInputs.Double(inputs, "maxSeconds", 0);
        if (maxSeconds < 0 || !double.IsFinite(maxSeconds))
        {
            throw new StepFailedException($"{context.Where}.inputs.maxSeconds: must be 0 (no budget) or a positive number of seconds (was {maxSeconds.ToString(CultureInfo.InvariantCulture)}).");
        }

        var completed = context.CompletedTrials.Select(ToTrialRecord).ToList();
        var options = new TuningOptions
        {
            Scorer = StepInputs.String(inputs, "scorer", defaults.Scorer),
            Folds = StepInputs.Int(inputs, "folds", defaults.Folds),
            Strategy = strategy,
            MaxTrials = StepInputs.Int(inputs, "maxTrials", defaults.MaxTrials),
            MaxParallelTrials = StepInputs.Int(inputs, "parallelism", defaults.MaxParallelTrials),
            Algorithms = StepInputs.List(inputs, "algorithms"),
            Seed = StepInputs.Int(inputs, "seed", defaults.Seed),
            Pruning = pruning,
            WallClockBudget = maxSeconds > 0 ? TimeSpan.FromSeconds(maxSeconds) : null,
            Completed = completed,
        };
        if (StepInputs.Bool(inputs, "warmStart", false))
        {
            options = options with { WarmStart = await WarmStartTrialsAsync(context, options, cancellationToken) };
        }

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
        var executor = new InProcessTrialExecutor(train);
        var parallelism = Tuner.EffectiveParallelism(options, executor);
        context.Log.Line($"tuning {string.Join(", ", options.Algorithms ?? ["all families"])} with {options.Strategy}, {options.MaxTrials} trials, {options.Folds} folds, scorer {options.Scorer}, pruning {options.Pruning}");
        context.Log.Line(parallelism < options.MaxParallelTrials
            ? $"{parallelism} trials at once: MaxTuningParallelJobs {options.MaxParallelTrials} is capped by this machine's {executor.Capacity} cores (proposals still follow {options.MaxParallelTrials}, so the result does not depend on the machine)"
            : $"{parallelism} trials at once");

        int? planned = null;
        TuningResult result;
        try
        {
            result = await new Tuner(time).RunAsync(
                executor,
                options,
                async (e, ct) =>
                {
                    if (e is TrialFinished finished)
                    {
                        var t = finished.Trial;
                        context.Log.Line(string.Create(CultureInfo.InvariantCulture,
                            $"trial {t.Number} {t.Algorithm} {t.Status} score {t.Mean?.ToString("0.####", CultureInfo.InvariantCulture) ?? "-"} in {t.Seconds:0.##} s ({finished.Finished}/{finished.Planned}){(t.Reason is null ? "" : ": " + t.Reason)}"));
                        planned = finished.Planned;
                        await context.TrialCompleted(ToExecutionTrial(context.Step.Name, t, finished.Planned), ct);
                    }
                },
                cancellationToken);
        }
        catch (Exception e) when (e is ArgumentException or TuningFailedException)
        {
            throw new StepFailedException($"{context.Where}: {e.Message}");
        }

        var best = result.Best;
        var outOfFold = "";
        if (result.BestOutOfFold is { } probabilities)
        {
            // One P(positive) per training row, in row order: what the refit chooses the decision threshold on.
            outOfFold = Path.Combine(context.WorkDirectory, "out-of-fold.txt");
            await File.WriteAllLinesAsync(outOfFold, probabilities.Select(p => p.ToString("R", CultureInfo.InvariantCulture)), cancellationToken);
        }
        context.Log.Line(string.Create(CultureInfo.InvariantCulture,
            $"best: trial {best.Number} {best.Algorithm} ({best.Parameters}) {options.Scorer} {best.Mean:0.####}; {result.Trials.Count} trials, {result.Pruned} pruned, {result.Failed} failed, parallelism {result.EffectiveParallelism}, {result.WallTime.TotalSeconds:0.#} s{(result.BudgetExhausted ? $"; stopped by the wall-clock budget of {maxSeconds} s" : "")}"));
        return new JsonObject
        {
            ["bestAlgorithm"] = best.Algorithm,
            ["bestParameters"] = JsonSerializer.SerializeToNode(best.Parameters),
            ["bestScore"] = best.Mean,
            ["bestTrial"] = best.Number,
            ["scorer"] = options.Scorer,
            ["folds"] = options.Folds,
            ["trials"] = result.Trials.Count,
            // What progress bars count to; a run whose trials were all kept from before knows no more than their number.
            ["planned"] = planned ?? result.Trials.Count,
            ["pruned"] = result.Pruned,
            ["failed"] = result.Failed,
            ["parallelism"] = result.EffectiveParallelism,
            ["requestedParallelism"] = result.RequestedParallelism,
            ["outOfFold"] = outOfFold,
        };
    }

    /// <summary>
    /// The trials of the Tune steps behind the group's latest <see cref="WarmStartVersions"/> registered versions,
    /// newest first, that scored with the same scorer on the same number of folds (other scores are not comparable).
    /// The group is the <c>group</c> input, or <c>&lt;pipeline&gt;-&lt;dataset&gt;</c> as the Register step names it.
    /// </summary>
    private async Task<IReadOnlyList<TrialRecord>> WarmStartTrialsAsync(StepContext context, TuningOptions options, CancellationToken cancellationToken)
    {
        var inputs = context.Inputs;
        var group = inputs["group"] is not null
            ? StepInputs.String(inputs, "group")
            : inputs["dataset"] is not null
                ? ModelRegistry.GroupName(context.Pipeline.Name, StepInputs.String(inputs, "dataset"))
                : throw new StepFailedException($"{context.Where}.inputs.warmStart: name the model group to warm-start from with the 'group' or 'dataset' input.");
        var packages = (await registry.ListPackagesAsync(group, null, PackageSort.Version, cancellationToken))
            .Where(p => p.Lineage.ExecutionId is not null && p.Lineage.ExecutionId != context.ExecutionId)
            .Take(WarmStartVersions)
            .ToList();
        var trials = new List<TrialRecord>();
        var used = new List<long>();
        foreach (var package in packages)
        {
            var earlier = await executions.GetAsync(package.Lineage.ExecutionId!, cancellationToken);
            var tunes = earlier?.Steps.Where(s => s.Type == Type && s.Status == StepStatus.Succeeded && Comparable(s.Outputs, options)) ?? [];
            foreach (var tune in tunes)
            {
                var kept = await executions.GetTrialsAsync(earlier!.Id, tune.Name, cancellationToken);
                trials.AddRange(kept.Select(ToTrialRecord));
                used.Add(package.Version);
            }
        }

        context.Log.Line(trials.Count > 0
            ? $"warm start: {trials.Count} trials from version(s) {string.Join(", ", used.Distinct())} of {group}"
            : $"warm start: {group} has no registered version tuned with {options.Scorer} on {options.Folds} folds; starting cold");
        return trials;
    }

    private static bool Comparable(JsonObject? outputs, TuningOptions options) =>
        outputs?["scorer"]?.GetValue<string>() == options.Scorer
        && outputs["folds"] is JsonValue folds && folds.TryGetValue<int>(out var n) && n == options.Folds;

    private static TrialRecord ToTrialRecord(ExecutionTrial trial) => JsonSerializer.Deserialize<TrialRecord>(trial.Data, TrialJson)!;

    internal static ExecutionTrial ToExecutionTrial(string step, TrialRecord t, int planned) => new(
        step, t.Number, t.Algorithm, JsonSerializer.SerializeToNode(t.Parameters), t.FoldScores, t.Mean,
        t.Status.ToString(), t.Seconds, JsonSerializer.Serialize(t, TrialJson), planned);
}
