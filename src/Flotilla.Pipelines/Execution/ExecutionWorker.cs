using Flotilla.Pipelines.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Flotilla.Pipelines.Execution;

/// <summary>
/// The bounded pool that runs executions. On start it queues every execution a previous process left
/// Executing or Stopping, so a crash only delays them.
/// </summary>
public sealed partial class ExecutionWorker(
    ExecutionStore store,
    ExecutionQueue queue,
    ExecutionRunner runner,
    IOptions<PipelineOptions> options,
    TimeProvider time,
    ILogger<ExecutionWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var unfinished = await store.ListUnfinishedAsync(stoppingToken);
        if (unfinished.Count > 0)
        {
            LogResuming(unfinished.Count);
        }
        foreach (var id in unfinished)
        {
            queue.Enqueue(id);
        }

        var workers = Enumerable.Range(0, options.Value.MaxConcurrentExecutions).Select(_ => WorkAsync(stoppingToken)).ToList();
        await Task.WhenAll([.. workers, AdoptOrphansAsync(stoppingToken)]);
    }

    // Servers sharing PostgreSQL: an execution whose server died or stalled (its lease ran out) is taken over by a
    // live one within the lease plus one scan interval.
    private async Task AdoptOrphansAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.AdoptionScanInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    foreach (var id in await store.ListOrphanedAsync(stoppingToken))
                    {
                        queue.Enqueue(id);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogAdoptFailed(e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task WorkAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var id in queue.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await runner.RunAsync(id, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // The store may be unreachable for a moment; the execution stays Executing and resumes on restart.
                    LogRunFailed(id, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Resuming {Count} executions left unfinished by a previous run")]
    private partial void LogResuming(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Looking for executions of dead servers failed; trying again later")]
    private partial void LogAdoptFailed(Exception error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Execution {ExecutionId} could not run")]
    private partial void LogRunFailed(string executionId, Exception error);
}
