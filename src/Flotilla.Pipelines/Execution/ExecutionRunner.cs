using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Steps;
using Flotilla.Pipelines.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static Flotilla.Pipelines.Storage.ExecutionStore;

namespace Flotilla.Pipelines.Execution;

/// <summary>
/// Runs one execution to its end from whatever state the store holds: a new execution, or one a crashed or
/// stopped process left behind (finished steps are kept, steps caught mid-run start again). Every status change
/// is written before the next step starts, so the store is always a valid place to resume from.
/// </summary>
public sealed partial class ExecutionRunner(
    ExecutionStore store,
    StepCatalog catalog,
    ExecutionQueue queue,
    ExecutionEvents events,
    IOptions<PipelineOptions> options,
    TimeProvider time,
    ILogger<ExecutionRunner> logger)
{
    private static readonly TimeSpan StopPollInterval = TimeSpan.FromSeconds(1);

    /// <summary>How long a server's claim on an execution lasts without renewal (renewed every <see cref="StopPollInterval"/>).</summary>
    internal static readonly TimeSpan Lease = TimeSpan.FromSeconds(15);

    private sealed record StepOutcome(StepRow Row, string? FailureReason);

    public async Task RunAsync(string executionId, CancellationToken hostStopping)
    {
        using var stop = new CancellationTokenSource();
        if (!queue.TryClaim(executionId, stop))
        {
            return;
        }

        try
        {
            if (!await store.ClaimAsync(executionId, Lease, hostStopping))
            {
                return;
            }
            await RunClaimedAsync(executionId, stop, hostStopping);
        }
        catch (OperationCanceledException) when (hostStopping.IsCancellationRequested)
        {
            // The process is shutting down: the execution stays Executing and is resumed on the next start,
            // here or, sharing PostgreSQL, by another server at once.
            await store.ReleaseAsync(executionId, CancellationToken.None);
        }
        finally
        {
            queue.Release(executionId);
        }
    }

    private async Task RunClaimedAsync(string executionId, CancellationTokenSource stop, CancellationToken hostStopping)
    {
        // Read after claiming, so a stop requested before the claim is seen here and one after reaches the token.
        var execution = await store.GetExecutionRowAsync(executionId, hostStopping);
        if (execution is null || execution.Status is not (nameof(ExecutionStatus.Executing) or nameof(ExecutionStatus.Stopping)))
        {
            return;
        }

        if (execution.Status == nameof(ExecutionStatus.Stopping))
        {
            await stop.CancelAsync();
        }

        var rows = (await store.GetStepRowsAsync(executionId, hostStopping)).ToDictionary(r => r.Name);
        PipelineDefinition definition;
        try
        {
            definition = DefinitionReader.Parse(execution.Source, catalog);
        }
        catch (DefinitionException e)
        {
            await FinishAsync(executionId, ExecutionStatus.Failed, $"The definition stored with this execution no longer validates: {e.Message}", rows.Values, hostStopping);
            return;
        }

        LogRunning(executionId, definition.Name, rows.Values.Count(r => r.State == StepStatus.Succeeded));
        // Outputs are kept as text and parsed per step: JSON nodes are not safe to share between threads.
        var outputs = new Dictionary<string, string>(StringComparer.Ordinal);
        var resumed = new List<StepRow>();
        foreach (var row in rows.Values)
        {
            switch (row.State)
            {
                case StepStatus.Succeeded:
                    outputs[row.Name] = row.Outputs ?? "{}";
                    break;
                case StepStatus.Executing:
                    // Caught mid-run by a crash or shutdown: run it again (a Tune step keeps its finished trials).
                    row.Status = nameof(StepStatus.Pending);
                    row.Log = (row.Log ?? "") + $"[{Now:O}] resumed after its server stopped; running the step again\n";
                    resumed.Add(row);
                    break;
            }
        }
        await store.SaveStepsAsync(resumed, hostStopping);

        var dependencies = definition.Steps.ToDictionary(s => s.Name, s => DependenciesOf(s, definition));
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(hostStopping, stop.Token);
        var running = new Dictionary<Task<StepOutcome>, string>();
        string? failure = rows.Values.FirstOrDefault(r => r.State == StepStatus.Failed)?.FailureReason;
        while (true)
        {
            if (!linked.IsCancellationRequested && failure is null)
            {
                var skipped = new List<StepRow>();
                bool changed;
                do
                {
                    changed = false;
                    foreach (var step in definition.Steps)
                    {
                        var row = rows[step.Name];
                        if (row.State != StepStatus.Pending || running.ContainsValue(step.Name))
                        {
                            continue;
                        }
                        if (SkipReason(step, definition, rows, outputs, dependencies[step.Name]) is { } reason)
                        {
                            row.Status = nameof(StepStatus.Skipped);
                            row.Log = (row.Log ?? "") + reason + "\n";
                            row.EndedMs = Now.ToUnixTimeMilliseconds();
                            skipped.Add(row);
                            changed = true;
                        }
                        // A dependency counts as done once this loop has taken its outputs, not when its row says
                        // Succeeded: the step's own task sets that row before the loop has seen the task finish.
                        else if (dependencies[step.Name].All(outputs.ContainsKey))
                        {
                            var resolver = new ValueResolver(
                                definition, ParseObject(execution.Parameters), outputs.ToDictionary(kv => kv.Key, kv => ParseObject(kv.Value)));
                            running[RunStepAsync(executionId, definition, step, row, resolver, stop.Token, linked.Token)] = step.Name;
                        }
                    }
                }
                while (changed);

                await store.SaveStepsAsync(skipped, hostStopping);
                foreach (var row in skipped)
                {
                    events.Publish(new("step", executionId, row.Name, row.Status));
                }
            }

            if (running.Count == 0)
            {
                break;
            }

            // Wake up now and then to see a stop requested through another server sharing the store.
            var first = linked.IsCancellationRequested
                ? await Task.WhenAny(running.Keys)
                : await Task.WhenAny(((IEnumerable<Task>)running.Keys).Append(Task.Delay(StopPollInterval, time, CancellationToken.None)));
            if (first is not Task<StepOutcome> done)
            {
                if (!stop.IsCancellationRequested && (await store.GetExecutionRowAsync(executionId, hostStopping))?.Status == nameof(ExecutionStatus.Stopping))
                {
                    await stop.CancelAsync();
                }
                await store.ClaimAsync(executionId, Lease, hostStopping);
                continue;
            }
            running.Remove(done);
            var outcome = await done;
            if (outcome.Row.State == StepStatus.Succeeded)
            {
                outputs[outcome.Row.Name] = outcome.Row.Outputs ?? "{}";
            }
            else if (outcome.Row.State == StepStatus.Failed)
            {
                failure ??= outcome.FailureReason;
            }
        }

        hostStopping.ThrowIfCancellationRequested();
        var status = stop.IsCancellationRequested ? ExecutionStatus.Stopped
            : failure is not null ? ExecutionStatus.Failed
            : ExecutionStatus.Succeeded;
        await FinishAsync(executionId, status, status == ExecutionStatus.Failed ? failure : null, rows.Values, hostStopping);
    }

    private async Task FinishAsync(string executionId, ExecutionStatus status, string? reason, IEnumerable<StepRow> rows, CancellationToken ct)
    {
        var notRun = rows.Where(r => r.State is StepStatus.Pending or StepStatus.Executing).ToList();
        foreach (var row in notRun)
        {
            row.Status = nameof(StepStatus.Skipped);
            row.Log = (row.Log ?? "") + $"not run: the execution {status.ToString().ToLowerInvariant()}\n";
        }
        await store.SaveStepsAsync(notRun, ct);
        await store.FinishAsync(executionId, status, reason, ct);
        LogFinished(executionId, status, reason);
        events.Publish(new("execution", executionId, Status: status.ToString(), Message: reason));
    }

    /// <summary>Why a pending step will never run: a branch not taken, or a step it needs was skipped.</summary>
    private static string? SkipReason(
        StepDefinition step, PipelineDefinition definition, Dictionary<string, StepRow> rows,
        Dictionary<string, string> outputs, IReadOnlySet<string> dependencies)
    {
        foreach (var gate in definition.Steps.Where(s => s.Type == "Condition"))
        {
            var onTrue = (gate.IfTrue ?? []).Contains(step.Name);
            var onFalse = (gate.IfFalse ?? []).Contains(step.Name);
            if ((onTrue || onFalse) && outputs.TryGetValue(gate.Name, out var gateOutputs)
                && ParseObject(gateOutputs)["result"]?.GetValue<bool>() is { } result
                && !((onTrue && result) || (onFalse && !result)))
            {
                return $"skipped: condition '{gate.Name}' was {result.ToString().ToLowerInvariant()}";
            }
        }

        var skippedDependency = dependencies.FirstOrDefault(d => rows[d].State == StepStatus.Skipped);
        return skippedDependency is null ? null : $"skipped: step '{skippedDependency}' it depends on was skipped";
    }

    private async Task<StepOutcome> RunStepAsync(
        string executionId, PipelineDefinition definition, StepDefinition step, StepRow row, ValueResolver resolver,
        CancellationToken stopRequested, CancellationToken cancellationToken)
    {
        // Leave the scheduler loop before doing any work, so steps that are ready together start together.
        await Task.Yield();
        var kind = catalog[step.Type];
        var log = new StepLog(row.Log);
        row.Status = nameof(StepStatus.Executing);
        row.StartedMs = Now.ToUnixTimeMilliseconds();
        row.EndedMs = null;
        row.FailureReason = null;
        var where = $"steps[{step.Name}]";
        try
        {
            var inputs = new JsonObject();
            foreach (var (name, expression) in step.Inputs)
            {
                inputs[name] = resolver.Resolve(expression, $"{where}.inputs.{name}");
            }

            string? cacheKey = null;
            if (step.Cache)
            {
                cacheKey = await CacheKeyAsync(definition, step, inputs, resolver.Parameters, cancellationToken);
                if (await store.FindCachedAsync(cacheKey, cancellationToken) is { } hit)
                {
                    log.Line($"[{Now:O}] cache hit: reusing the outputs of execution {hit.ExecutionId}");
                    row.CachedFrom = hit.ExecutionId;
                    return await EndStepAsync(executionId, row, StepStatus.Succeeded, hit.Outputs, log, null, cancellationToken);
                }
            }

            await store.SaveStepAsync(row, cancellationToken);
            events.Publish(new("step", executionId, step.Name, row.Status));
            var trials = step.Type == "Tune" ? await store.GetTrialsAsync(executionId, step.Name, cancellationToken) : [];
            for (var attempt = 1; ; attempt++)
            {
                row.Attempts++;
                var work = Path.Combine(options.Value.ExecutionsDirectory, executionId, step.Name);
                var context = new StepContext
                {
                    ExecutionId = executionId,
                    Pipeline = definition,
                    Step = step,
                    Parameters = resolver.Parameters,
                    Inputs = inputs,
                    Resolver = resolver,
                    WorkDirectory = work,
                    Attempt = attempt,
                    Log = log,
                    CompletedTrials = trials,
                    TrialCompleted = async (trial, ct) =>
                    {
                        await store.AddTrialAsync(executionId, trial, ct);
                        events.Publish(new("trial", executionId, step.Name, trial.Status, Trial: trial));
                    },
                };
                try
                {
                    log.Line($"[{Now:O}] attempt {attempt} of {step.Retry.MaxAttempts}");
                    Directory.CreateDirectory(work);
                    var result = await kind.RunAsync(context, cancellationToken);
                    var json = result.ToJsonString();
                    if (cacheKey is not null)
                    {
                        await store.PutCachedAsync(cacheKey, step.Type, executionId, step.Name, json, cancellationToken);
                    }
                    return await EndStepAsync(executionId, row, StepStatus.Succeeded, json, log, null, cancellationToken);
                }
                catch (Exception e) when (e is not StepFailedException && !cancellationToken.IsCancellationRequested
                    && kind.Retryable && attempt < step.Retry.MaxAttempts)
                {
                    var delay = step.Retry.DelayBefore(attempt + 1);
                    log.Line($"[{Now:O}] attempt {attempt} failed: {e.Message}; trying again in {delay.TotalSeconds:0.###} s");
                    LogRetrying(executionId, step.Name, attempt, e.Message);
                    row.Log = log.ToString();
                    await store.SaveStepAsync(row, cancellationToken);
                    await Task.Delay(delay, time, cancellationToken);
                    trials = step.Type == "Tune" ? await store.GetTrialsAsync(executionId, step.Name, cancellationToken) : [];
                }
            }
        }
        catch (OperationCanceledException) when (stopRequested.IsCancellationRequested)
        {
            log.Line($"[{Now:O}] stopped on request");
            return await EndStepAsync(executionId, row, StepStatus.Stopped, null, log, null, CancellationToken.None);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown: the step stays Executing in the store and runs again when the execution resumes.
            return new StepOutcome(row, null);
        }
        catch (Exception e)
        {
            var reason = e is StepFailedException ? e.Message : $"Step '{step.Name}' ({step.Type}) failed: {e.Message}";
            log.Line($"[{Now:O}] failed: {e.Message}");
            LogStepFailed(executionId, step.Name, e.Message);
            return await EndStepAsync(executionId, row, StepStatus.Failed, null, log, reason, CancellationToken.None);
        }
    }

    private async Task<StepOutcome> EndStepAsync(
        string executionId, StepRow row, StepStatus status, string? outputs, StepLog log, string? reason, CancellationToken ct)
    {
        row.Status = status.ToString();
        row.Outputs = outputs;
        row.Log = log.ToString();
        row.FailureReason = reason;
        row.EndedMs = Now.ToUnixTimeMilliseconds();
        await store.SaveStepAsync(row, ct);
        events.Publish(new("step", executionId, row.Name, row.Status, reason));
        return new StepOutcome(row, reason);
    }

    /// <summary>Same pipeline and step, same inputs (files by content), same parameters → same key.</summary>
    private async Task<string> CacheKeyAsync(
        PipelineDefinition definition, StepDefinition step, JsonObject inputs, JsonObject parameters, CancellationToken ct)
    {
        var material = new JsonObject
        {
            ["pipeline"] = definition.Name,
            ["step"] = JsonSerializer.SerializeToNode(step),
            ["inputs"] = inputs.DeepClone(),
            ["parameters"] = parameters.DeepClone(),
        };
        var files = new JsonObject();
        foreach (var (name, value) in inputs)
        {
            if (value is JsonValue v && v.TryGetValue<string>(out var path) && path.Length < 4096 && Path.IsPathFullyQualified(path) && File.Exists(path))
            {
                await using var stream = File.OpenRead(path);
                files[name] = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
            }
        }
        material["files"] = files;
        material["extra"] = await catalog[step.Type].CacheMaterialAsync(inputs, ct);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(material.ToJsonString())));
    }

    private static IReadOnlySet<string> DependenciesOf(StepDefinition step, PipelineDefinition definition) =>
        DefinitionValidator.DependenciesOf(step, definition);

    private DateTimeOffset Now => time.GetUtcNow();

    [LoggerMessage(Level = LogLevel.Information, Message = "Execution {ExecutionId} of {Pipeline} running ({Succeeded} steps already succeeded)")]
    private partial void LogRunning(string executionId, string pipeline, int succeeded);

    [LoggerMessage(Level = LogLevel.Information, Message = "Execution {ExecutionId} {Status} {Reason}")]
    private partial void LogFinished(string executionId, ExecutionStatus status, string? reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Execution {ExecutionId} step {Step} attempt {Attempt} failed, retrying: {Error}")]
    private partial void LogRetrying(string executionId, string step, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Execution {ExecutionId} step {Step} failed: {Error}")]
    private partial void LogStepFailed(string executionId, string step, string error);
}
