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
/// is written before the next step starts, so the store is always a valid place to resume from. The parts:
/// <see cref="StepSchedule"/> decides what starts and what is skipped, <see cref="StepRunner"/> runs one step
/// (inputs, cache, retries), and this class holds the claim: the lease, stops requested elsewhere, the end.
/// </summary>
public sealed partial class ExecutionRunner(
    ExecutionStore store,
    StepCatalog catalog,
    StepRunner steps,
    StepOutputFiles files,
    ExecutionQueue queue,
    ExecutionEvents events,
    IOptions<PipelineOptions> options,
    TimeProvider time,
    ILogger<ExecutionRunner> logger)
{
    private static readonly TimeSpan StopPollInterval = TimeSpan.FromSeconds(1);

    public async Task RunAsync(string executionId, CancellationToken hostStopping)
    {
        using var stop = new CancellationTokenSource();
        if (!queue.TryClaim(executionId, stop))
        {
            return;
        }

        ExecutionLease? held = null;
        try
        {
            held = await store.ClaimAsync(executionId, options.Value.ExecutionLease, hostStopping);
            if (held is null)
            {
                return;
            }
            await RunClaimedAsync(held, stop, hostStopping);
        }
        catch (ExecutionFencedException e)
        {
            // Another server took the execution while this one was away: it is that server's now, whatever this
            // one had done. Nothing more is written; the steps still running here were cancelled with the lease.
            LogFenced(executionId, e.Message);
        }
        catch (OperationCanceledException) when (hostStopping.IsCancellationRequested && held is not null)
        {
            // The process is shutting down: the execution stays Executing and is resumed on the next start,
            // here or, sharing PostgreSQL, by another server at once.
            await store.ReleaseAsync(held, CancellationToken.None);
        }
        finally
        {
            queue.Release(executionId);
        }
    }

    private async Task RunClaimedAsync(ExecutionLease held, CancellationTokenSource stop, CancellationToken hostStopping)
    {
        var executionId = held.Id;
        if (await LoadAsync(held, stop, hostStopping) is not { } loaded)
        {
            return;
        }
        var (definition, schedule) = loaded;

        // Lost when another server takes the execution: every step here stops at once.
        using var lost = new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(hostStopping, stop.Token, lost.Token);
        while (true)
        {
            if (!linked.IsCancellationRequested && schedule.Failure is null)
            {
                var skipped = schedule.StartReady(
                    (step, row, resolve) => steps.RunAsync(held, definition, step, row, resolve, stop.Token, linked.Token), Now);
                await store.SaveStepsAsync(held, skipped, hostStopping);
                foreach (var row in skipped)
                {
                    events.Publish(new("step", executionId, row.Name, row.Status.ToString()));
                }
            }

            if (!schedule.IsRunning)
            {
                break;
            }

            // Once stopping, only the running steps' ends matter; until then wake up now and then for the lease.
            var wakeUp = linked.IsCancellationRequested ? null : Task.Delay(StopPollInterval, time, CancellationToken.None);
            if (await schedule.NextFinishedAsync(wakeUp) is { } outcome)
            {
                if (outcome.Fenced is { } fenced)
                {
                    await lost.CancelAsync();
                    await schedule.AllFinishedAsync();
                    throw fenced;
                }
                schedule.Take(outcome);
            }
            else
            {
                try
                {
                    await KeepClaimAsync(held, stop, hostStopping);
                }
                catch (ExecutionFencedException)
                {
                    await lost.CancelAsync();
                    await schedule.AllFinishedAsync();
                    throw;
                }
            }
        }

        hostStopping.ThrowIfCancellationRequested();
        var status = stop.IsCancellationRequested ? ExecutionStatus.Stopped
            : schedule.Failure is not null ? ExecutionStatus.Failed
            : ExecutionStatus.Succeeded;
        await FinishAsync(held, status, status == ExecutionStatus.Failed ? schedule.Failure : null, schedule.Rows, hostStopping);
    }

    /// <summary>
    /// The claimed execution's definition and steps, with interrupted steps set to run again; null when there is
    /// nothing to run (it ended meanwhile, or its stored definition no longer validates, which fails it).
    /// </summary>
    private async Task<(PipelineDefinition, StepSchedule)?> LoadAsync(ExecutionLease held, CancellationTokenSource stop, CancellationToken hostStopping)
    {
        var executionId = held.Id;
        // Read after claiming, so a stop requested before the claim is seen here and one after reaches the token.
        var execution = await store.GetExecutionRowAsync(executionId, hostStopping);
        if (execution is null || execution.Status is not (ExecutionStatus.Executing or ExecutionStatus.Stopping))
        {
            return null;
        }

        if (execution.Status == ExecutionStatus.Stopping)
        {
            await stop.CancelAsync();
        }

        var rows = await store.GetStepRowsAsync(executionId, hostStopping);
        PipelineDefinition definition;
        try
        {
            definition = DefinitionReader.Parse(execution.Source, catalog);
        }
        catch (DefinitionException e)
        {
            await FinishAsync(held, ExecutionStatus.Failed, $"The definition stored with this execution no longer validates: {e.Message}", rows, hostStopping);
            return null;
        }

        var schedule = new StepSchedule(definition, catalog, files, execution.Parameters, rows);
        LogRunning(executionId, definition.Name, schedule.Rows.Count(r => r.Status == StepStatus.Succeeded));
        await store.SaveStepsAsync(held, schedule.ResumeInterrupted(Now), hostStopping);
        return (definition, schedule);
    }

    /// <summary>Sees a stop requested through another server sharing the store, and renews this server's lease.</summary>
    private async Task KeepClaimAsync(ExecutionLease held, CancellationTokenSource stop, CancellationToken hostStopping)
    {
        await store.RenewAsync(held, options.Value.ExecutionLease, hostStopping);
        if (!stop.IsCancellationRequested && (await store.GetExecutionRowAsync(held.Id, hostStopping))?.Status == ExecutionStatus.Stopping)
        {
            await stop.CancelAsync();
        }
    }

    private async Task FinishAsync(ExecutionLease held, ExecutionStatus status, string? reason, IEnumerable<StepRow> rows, CancellationToken ct)
    {
        var executionId = held.Id;
        var notRun = rows.Where(r => r.Status is StepStatus.Pending or StepStatus.Executing).ToList();
        foreach (var row in notRun)
        {
            row.Status = StepStatus.Skipped;
            row.Log = (row.Log ?? "") + $"not run: the execution {status.ToString().ToLowerInvariant()}\n";
        }
        await store.SaveStepsAsync(held, notRun, ct);
        await store.FinishAsync(held, status, reason, ct);
        LogFinished(executionId, status, reason);
        events.Publish(new("execution", executionId, Status: status.ToString(), Message: reason));
    }

    private DateTimeOffset Now => time.GetUtcNow();

    [LoggerMessage(Level = LogLevel.Information, Message = "Execution {ExecutionId} of {Pipeline} running ({Succeeded} steps already succeeded)")]
    private partial void LogRunning(string executionId, string pipeline, int succeeded);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Execution {ExecutionId}: stopped here, another server holds it now: {Reason}")]
    private partial void LogFenced(string executionId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Execution {ExecutionId} {Status} {Reason}")]
    private partial void LogFinished(string executionId, ExecutionStatus status, string? reason);
}
