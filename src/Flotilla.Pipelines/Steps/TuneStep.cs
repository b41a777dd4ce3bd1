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
/// Trials run where <paramref name="executors"/> puts them: this process, or every silo of the fleet in a server.
/// </summary>
public sealed class TuneStep(TimeProvider time, ModelRegistry registry, ExecutionStore executions, ITrialExecutorFactory executors) : StepKind
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
        new("ensembleSize", ValueType.Int, Required: false),
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
        new("ensemble", ValueType.Json),
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

        var ensembleSize = StepInputs.Int(inputs, "ensembleSize", 0);
        if (ensembleSize < 0)
        {
            throw new StepFailedException($"{context.Where}.inputs.ensembleSize: must be 0 (no ensemble) or a number of picks (was {ensembleSize}).");
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
            KeepOutOfFold = ensembleSize > 1 ? EnsembleChoice.Library : 1,
        };
        if (StepInputs.Bool(inputs, "warmStart", false))
        {
            options = options with { WarmStart = await WarmStartTrialsAsync(context, options, cancellationToken) };
        }

        Table train;
        var path = StepInputs.String(inputs, "train");
        var csv = new CsvOptions(StepInputs.String(inputs, "target"));
        try
        {
            train = await Task.Run(() => TableReader.Read(path, csv, cancellationToken), cancellationToken);
        }
        catch (DataFormatException e)
        {
            throw new StepFailedException($"{context.Where}.inputs.train: {e.Message}");
        }

        if (completed.Count > 0)
        {
            context.Log.Line($"resuming: {completed.Count} of {options.MaxTrials} trials were already completed and are kept");
        }
        var executor = await executors.CreateAsync(new TrialData(train, path, csv), cancellationToken);
        if (executor.Workers.Count > 0)
        {
            context.Log.Line(DescribeWorkers(executor.Workers));
        }
        var parallelism = Tuner.EffectiveParallelism(options, executor);
        context.Log.Line($"tuning {string.Join(", ", options.Algorithms ?? ["all families"])} with {options.Strategy}, {options.MaxTrials} trials, {options.Folds} folds, scorer {options.Scorer}, pruning {options.Pruning}");
        context.Log.Line(parallelism < options.MaxParallelTrials
            ? $"{parallelism} trials at once: MaxTuningParallelJobs {options.MaxParallelTrials} is capped by the {executor.Capacity} cores trials can use (proposals still follow {options.MaxParallelTrials}, so the result does not depend on the machines)"
            : $"{parallelism} trials at once");

        int? planned = null;
        // Trials this attempt ran, per worker (those kept from before a restart name their own silo in their records).
        var ranBy = new Dictionary<string, int>(StringComparer.Ordinal);
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
                        if (t.Worker is { } worker)
                        {
                            ranBy[worker] = ranBy.GetValueOrDefault(worker) + 1;
                        }
                        await context.TrialCompleted(ToExecutionTrial(context.Step.Name, t, finished.Planned), ct);
                    }
                },
                cancellationToken);
        }
        catch (Exception e) when (e is ArgumentException or TuningFailedException)
        {
            throw new StepFailedException($"{context.Where}: {e.Message}");
        }

        var workers = executor.Workers;
        if (workers.Count > 0)
        {
            context.Log.Line("trials per silo: " + string.Join(", ", workers.Select(w =>
                $"{w.Name} {ranBy.GetValueOrDefault(w.Name)}{(w.Lost is null ? "" : $" (lost: {w.Lost})")}{(w.LeftOut is null ? "" : " (left out)")}")));
        }

        var best = result.Best;
        var outOfFold = "";
        var ensemble = ensembleSize > 1 ? EnsembleChoice.Choose(train, result, options.Scorer, ensembleSize, cancellationToken) : null;
        if (ensembleSize > 1 && ensemble is null)
        {
            context.Log.Line("ensemble: the best trial was kept from before a restart without its out-of-fold predictions, so it is refitted by itself");
        }
        else if (ensemble is not null)
        {
            context.Log.Line(ensemble.IsEnsemble ? ensemble.Describe(options.Scorer) : $"ensemble: no blend of the {ensemble.Candidates} kept trials beats the best trial alone, so it is refitted by itself");
        }
        if ((ensemble is { IsEnsemble: true } ? ensemble.OutOfFold : result.BestOutOfFold) is { } probabilities)
        {
            // One P(positive) per training row, in row order (the ensemble's blend when there is one): what the refit chooses the decision threshold on.
            outOfFold = Path.Combine(context.WorkDirectory, "out-of-fold.txt");
            await File.WriteAllLinesAsync(outOfFold, probabilities.Select(p => p.ToString("R", CultureInfo.InvariantCulture)), cancellationToken);
        }
        context.Log.Line(string.Create(CultureInfo.InvariantCulture,
            $"best: trial {best.Number} {best.Algorithm} ({best.Parameters}) {options.Scorer} {best.Mean:0.####}; {result.Trials.Count} trials, {result.Pruned} pruned, {result.Failed} failed, parallelism {result.EffectiveParallelism}, {result.WallTime.TotalSeconds:0.#} s{(result.BudgetExhausted ? $"; stopped by the wall-clock budget of {maxSeconds} s" : "")}"));
        if (result.Budget is { } spent)
        {
            context.Log.Line(spent.Describe());
        }
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
            ["ensemble"] = ensemble?.ToJson() ?? [],
            ["budget"] = result.Budget is null ? null : JsonSerializer.SerializeToNode(result.Budget, EnsembleChoice.Json),
            ["ensembleScore"] = ensemble is { IsEnsemble: true } ? ensemble.Objective : null,
            // Where this attempt's trials ran: every silo with its cores and trial count, or why it took no part.
            ["silos"] = new JsonArray([.. workers.Select(w => new JsonObject
            {
                ["silo"] = w.Name,
                ["cores"] = w.Cores,
                ["trials"] = ranBy.GetValueOrDefault(w.Name),
                ["leftOut"] = w.LeftOut,
                ["lost"] = w.Lost,
            })]),
        };
    }

    /// <summary>"trials on 3 silos: S10.0.0.2:11111:1 (2 cores), …; left out: S10.0.0.4:11111:1 (it did not say …)".</summary>
    private static string DescribeWorkers(IReadOnlyList<TrialWorker> workers)
    {
        var taking = workers.Where(w => w.LeftOut is null).ToList();
        var leftOut = workers.Where(w => w.LeftOut is not null).ToList();
        return $"trials on {taking.Count} silo{(taking.Count == 1 ? "" : "s")}: {string.Join(", ", taking.Select(w => $"{w.Name} ({w.Cores} core{(w.Cores == 1 ? "" : "s")})"))}"
            + (leftOut.Count == 0 ? "" : $"; left out: {string.Join(", ", leftOut.Select(w => $"{w.Name} ({w.LeftOut})"))}");
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
        t.Status.ToString(), t.Seconds, JsonSerializer.Serialize(t, TrialJson), planned, t.Worker);
}
