using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Steps;
using Flotilla.Pipelines.Storage;
using Microsoft.Extensions.Logging;
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
    TimeProvider time,
    ILogger<ExecutionRunner> logger)
{
    private static readonly TimeSpan StopPollInterval = TimeSpan.FromSeconds(1);

    /// <summary>How long a server's claim on an execution lasts without renewal (renewed every <see cref="StopPollInterval"/>).</summary>
    internal static readonly TimeSpan Lease = TimeSpan.FromSeconds(15);

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
        if (await LoadAsync(executionId, stop, hostStopping) is not { } loaded)
        {
            return;
        }
        var (definition, schedule) = loaded;

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(hostStopping, stop.Token);
        while (true)
        {
            if (!linked.IsCancellationRequested && schedule.Failure is null)
            {
                var skipped = schedule.StartReady(
                    (step, row, resolver) => steps.RunAsync(executionId, definition, step, row, resolver, stop.Token, linked.Token), Now);
                await store.SaveStepsAsync(skipped, hostStopping);
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
                schedule.Take(outcome);
            }
            else
            {
                await KeepClaimAsync(executionId, stop, hostStopping);
            }
        }

        hostStopping.ThrowIfCancellationRequested();
        var status = stop.IsCancellationRequested ? ExecutionStatus.Stopped
            : schedule.Failure is not null ? ExecutionStatus.Failed
            : ExecutionStatus.Succeeded;
        await FinishAsync(executionId, status, status == ExecutionStatus.Failed ? schedule.Failure : null, schedule.Rows, hostStopping);
    }

    /// <summary>
    /// The claimed execution's definition and steps, with interrupted steps set to run again; null when there is
    /// nothing to run (it ended meanwhile, or its stored definition no longer validates, which fails it).
    /// </summary>
    private async Task<(PipelineDefinition, StepSchedule)?> LoadAsync(string executionId, CancellationTokenSource stop, CancellationToken hostStopping)
    {
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
            await FinishAsync(executionId, ExecutionStatus.Failed, $"The definition stored with this execution no longer validates: {e.Message}", rows, hostStopping);
            return null;
        }

        var schedule = new StepSchedule(definition, catalog, files, execution.Parameters, rows);
        LogRunning(executionId, definition.Name, schedule.Rows.Count(r => r.Status == StepStatus.Succeeded));
        await store.SaveStepsAsync(schedule.ResumeInterrupted(Now), hostStopping);
        return (definition, schedule);
    }

    /// <summary>Sees a stop requested through another server sharing the store, and renews this server's lease.</summary>
    private async Task KeepClaimAsync(string executionId, CancellationTokenSource stop, CancellationToken hostStopping)
    {
        if (!stop.IsCancellationRequested && (await store.GetExecutionRowAsync(executionId, hostStopping))?.Status == ExecutionStatus.Stopping)
        {
            await stop.CancelAsync();
        }
        await store.ClaimAsync(executionId, Lease, hostStopping);
    }

    private async Task FinishAsync(string executionId, ExecutionStatus status, string? reason, IEnumerable<StepRow> rows, CancellationToken ct)
    {
        var notRun = rows.Where(r => r.Status is StepStatus.Pending or StepStatus.Executing).ToList();
        foreach (var row in notRun)
        {
            row.Status = StepStatus.Skipped;
            row.Log = (row.Log ?? "") + $"not run: the execution {status.ToString().ToLowerInvariant()}\n";
        }
        await store.SaveStepsAsync(notRun, ct);
        await store.FinishAsync(executionId, status, reason, ct);
        LogFinished(executionId, status, reason);
        events.Publish(new("execution", executionId, Status: status.ToString(), Message: reason));
    }

    private DateTimeOffset Now => time.GetUtcNow();

    [LoggerMessage(Level = LogLevel.Information, Message = "Execution {ExecutionId} of {Pipeline} running ({Succeeded} steps already succeeded)")]
    private partial void LogRunning(string executionId, string pipeline, int succeeded);

    [LoggerMessage(Level = LogLevel.Information, Message = "Execution {ExecutionId} {Status} {Reason}")]
    private partial void LogFinished(string executionId, ExecutionStatus status, string? reason);
}
