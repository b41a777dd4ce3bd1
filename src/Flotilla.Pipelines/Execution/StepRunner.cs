using System.Text.Json.Nodes;
using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Steps;
using Flotilla.Pipelines.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using static Flotilla.Pipelines.Storage.ExecutionStore;

namespace Flotilla.Pipelines.Execution;

/// <summary>
/// Runs one step of an execution to an end state: binds its inputs, reuses cached outputs, runs attempts with the
/// step's retry policy, and saves and publishes every status change. Shutdown leaves the step Executing, to resume.
/// </summary>
public sealed partial class StepRunner(
    ExecutionStore store,
    StepCatalog catalog,
    StepOutputFiles files,
    ExecutionEvents events,
    IOptions<PipelineOptions> options,
    TimeProvider time,
    ILogger<StepRunner> logger)
{
    internal async Task<StepOutcome> RunAsync(
        ExecutionLease held, PipelineDefinition definition, StepDefinition step, StepRow row, Func<CancellationToken, Task<ValueResolver>> resolve,
        CancellationToken stopRequested, CancellationToken cancellationToken)
    {
        try
        {
            return await RunHeldAsync(held, definition, step, row, resolve, stopRequested, cancellationToken);
        }
        catch (ExecutionFencedException e)
        {
            // Whatever the step did is not saved: the server that holds the execution now decides its end.
            LogFenced(held.Id, step.Name);
            return new StepOutcome(row, null, e);
        }
    }

    private async Task<StepOutcome> RunHeldAsync(
        ExecutionLease held, PipelineDefinition definition, StepDefinition step, StepRow row, Func<CancellationToken, Task<ValueResolver>> resolve,
        CancellationToken stopRequested, CancellationToken cancellationToken)
    {
        var executionId = held.Id;
        // Leave the scheduler loop before doing any work, so steps that are ready together start together.
        await Task.Yield();
        var kind = catalog[step.Type];
        var log = new StepLog(row.Log);
        row.Status = StepStatus.Executing;
        row.StartedMs = Now.ToUnixTimeMilliseconds();
        row.EndedMs = null;
        row.FailureReason = null;
        var where = $"steps[{step.Name}]";
        try
        {
            var resolver = await resolve(cancellationToken);
            var resolved = new JsonObject();
            foreach (var (name, expression) in step.Inputs)
            {
                resolved[name] = resolver.Resolve(expression, $"{where}.inputs.{name}");
            }
            var inputs = StepInputs.Bind(kind, resolved, where);

            string? cacheKey = null;
            if (step.Cache)
            {
                cacheKey = await StepCache.KeyAsync(definition, step, kind, inputs, resolver.Parameters, cancellationToken);
                if (await store.FindCachedAsync(cacheKey, cancellationToken) is { } hit && StepOutputFiles.AreShared(kind, hit.Outputs))
                {
                    log.Line($"[{Now:O}] cache hit: reusing the outputs of execution {hit.ExecutionId}");
                    row.CachedFrom = hit.ExecutionId;
                    return await EndAsync(held, row, StepStatus.Succeeded, hit.Outputs, log, null, cancellationToken);
                }
            }

            await store.SaveStepAsync(held, row, cancellationToken);
            events.Publish(new("step", executionId, step.Name, row.Status.ToString()));
            var outputs = await AttemptAsync(held, definition, step, kind, row, inputs, resolver, log, cancellationToken);
            if (cacheKey is not null)
            {
                await store.PutCachedAsync(held, cacheKey, step.Type, step.Name, outputs, cancellationToken);
            }
            return await EndAsync(held, row, StepStatus.Succeeded, outputs, log, null, cancellationToken);
        }
        catch (ExecutionFencedException)
        {
            throw;
        }
        catch (OperationCanceledException) when (stopRequested.IsCancellationRequested)
        {
            log.Line($"[{Now:O}] stopped on request");
            return await EndAsync(held, row, StepStatus.Stopped, null, log, null, CancellationToken.None);
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
            return await EndAsync(held, row, StepStatus.Failed, null, log, reason, CancellationToken.None);
        }
    }

    /// <summary>Attempts until one succeeds (its outputs as JSON text) or the retry policy gives up (the last failure is thrown).</summary>
    private async Task<string> AttemptAsync(
        ExecutionLease held, PipelineDefinition definition, StepDefinition step, StepKind kind, StepRow row,
        JsonObject inputs, ValueResolver resolver, StepLog log, CancellationToken cancellationToken)
    {
        var executionId = held.Id;
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
                // Read again on every attempt: the failed attempt may have finished some.
                CompletedTrials = kind.KeepsTrials ? await store.GetTrialsAsync(executionId, step.Name, cancellationToken) : [],
                TrialCompleted = async (trial, ct) =>
                {
                    await store.AddTrialAsync(held, trial, ct);
                    events.Publish(new("trial", executionId, step.Name, trial.Status, Trial: trial));
                },
                EnsureHeldAsync = (connection, transaction, ct) => ExecutionStore.EnsureHeldAsync(held, connection, transaction, ct),
            };
            try
            {
                log.Line($"[{Now:O}] attempt {attempt} of {step.Retry.MaxAttempts}");
                Directory.CreateDirectory(work);
                var outputs = await kind.RunAsync(context, cancellationToken);
                return await files.ToStoredAsync(executionId, step.Name, kind, outputs, work, cancellationToken);
            }
            catch (Exception e) when (e is not StepFailedException and not ExecutionFencedException && !cancellationToken.IsCancellationRequested
                && kind.Retryable && attempt < step.Retry.MaxAttempts)
            {
                var delay = step.Retry.DelayBefore(attempt + 1);
                log.Line($"[{Now:O}] attempt {attempt} failed: {e.Message}; trying again in {delay.TotalSeconds:0.###} s");
                LogRetrying(executionId, step.Name, attempt, e.Message);
                row.Log = log.ToString();
                await store.SaveStepAsync(held, row, cancellationToken);
                await Task.Delay(delay, time, cancellationToken);
            }
        }
    }

    private async Task<StepOutcome> EndAsync(
        ExecutionLease held, StepRow row, StepStatus status, string? outputs, StepLog log, string? reason, CancellationToken ct)
    {
        var executionId = held.Id;
        row.Status = status;
        row.Outputs = outputs;
        row.Log = log.ToString();
        row.FailureReason = reason;
        row.EndedMs = Now.ToUnixTimeMilliseconds();
        await store.SaveStepAsync(held, row, ct);
        events.Publish(new("step", executionId, row.Name, status.ToString(), reason));
        return new StepOutcome(row, reason);
    }

    private DateTimeOffset Now => time.GetUtcNow();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Execution {ExecutionId} step {Step} attempt {Attempt} failed, retrying: {Error}")]
    private partial void LogRetrying(string executionId, string step, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Execution {ExecutionId} step {Step}: another server took the execution over; this run of the step is dropped")]
    private partial void LogFenced(string executionId, string step);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Execution {ExecutionId} step {Step} failed: {Error}")]
    private partial void LogStepFailed(string executionId, string step, string error);
}
