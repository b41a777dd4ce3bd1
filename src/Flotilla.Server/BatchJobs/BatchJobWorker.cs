using System.Collections.Concurrent;
using System.Text;
using System.Threading.Channels;
using Flotilla.Contracts;
using Flotilla.Learning.Artifacts;
using Flotilla.Pipelines.Datasets;
using Flotilla.Server.Hosting;
using Flotilla.Storage.Artifacts;
using Microsoft.Extensions.Options;

namespace Flotilla.Server.BatchJobs;

/// <summary>
/// Runs queued batch jobs, at most <see cref="BatchJobOptions.MaxConcurrentJobs"/> at once, each streaming its dataset
/// in chunks on one thread of its own at the lowest CPU priority (<see cref="LowPriorityScheduler"/>), so live
/// invocations on the same cores come first. The result is written to a temporary file in
/// <c>&lt;DataDirectory&gt;/batch-jobs</c> and put in the artifact store only when complete; the job is marked
/// Succeeded after that, so a result that is announced is always whole. A job the server stops in the middle of is
/// failed with its reason; a job whose server died is failed by the stale-job sweep of any server.
/// </summary>
internal sealed partial class BatchJobWorker(
    BatchJobStore jobs,
    DatasetCatalog datasets,
    IArtifactStore artifacts,
    IOptions<BatchJobOptions> options,
    IOptions<FlotillaOptions> flotilla,
    TimeProvider time,
    ILogger<BatchJobWorker> logger) : BackgroundService
{
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _running = new(StringComparer.Ordinal);

    private string TempDirectory => Path.Combine(flotilla.Value.DataDirectory, "batch-jobs");

    /// <summary>A job was queued: an idle worker takes it now rather than at its next poll.</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    /// <summary>Stops the job at its next chunk when this server runs it (its row already says Cancelled).</summary>
    public void CancelLocal(string id)
    {
        if (_running.TryGetValue(id, out var cts))
            cts.Cancel();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Embedded, this is the only server: a job still Running was this data folder's previous process, which died.
        var staleAtStart = flotilla.Value.Shape == DeploymentShape.Embedded ? TimeSpan.Zero : StaleAfter;
        await SweepAsync(staleAtStart, "the server restarted while the job ran; its partial output was discarded. Start the job again.", stoppingToken);
        Directory.CreateDirectory(TempDirectory);
        using var scheduler = new LowPriorityScheduler(options.Value.MaxConcurrentJobs, "batch-job");
        var workers = Enumerable.Range(0, options.Value.MaxConcurrentJobs).Select(_ => WorkAsync(scheduler, stoppingToken)).ToList();
        workers.Add(SweepLoopAsync(stoppingToken));
        await Task.WhenAll(workers);
    }

    private TimeSpan StaleAfter => TimeSpan.FromSeconds(options.Value.StaleAfterSeconds);

    private async Task SweepLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(StaleAfter / 4, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await SweepAsync(StaleAfter, $"no server reported progress for {options.Value.StaleAfterSeconds:0.#} s: the server running it stopped. Start the job again.", stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task SweepAsync(TimeSpan staleAfter, string reason, CancellationToken ct)
    {
        try
        {
            foreach (var id in await jobs.FailStaleAsync(staleAfter, reason, ct))
            {
                LogStale(id);
                File.Delete(TempPath(id));
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogSweepFailed(e);
        }
    }

    private async Task WorkAsync(LowPriorityScheduler scheduler, CancellationToken stoppingToken)
    {
        var poll = TimeSpan.FromSeconds(options.Value.PollSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await jobs.TryClaimNextAsync(stoppingToken) is { } job)
                {
                    await scheduler.RunAsync(() => RunAsync(job, stoppingToken));
                    continue;
                }
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                wait.CancelAfter(poll);
                await _wake.Reader.ReadAsync(wait.Token);
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
                // The poll interval passed without a wake-up: look again.
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e)
            {
                // The metadata store is unreachable: wait a poll interval before trying again rather than spin.
                LogWorkerFailed(e);
                try
                {
                    await Task.Delay(poll, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private string TempPath(string id) => Path.Combine(TempDirectory, $"{id}.partial.csv");

    private async Task RunAsync(BatchJob job, CancellationToken stoppingToken)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        _running[job.Id] = cancel;
        var temp = TempPath(job.Id);
        var rowsDone = 0L;
        LogStarted(job.Id, job.PackageId, job.Dataset);
        try
        {
            var dataset = await datasets.GetAsync(job.Dataset, cancel.Token);
            var model = ModelArtifact.Load(await artifacts.ReadVerifiedAsync(job.ArtifactSha256, cancel.Token), job.ArtifactSha256);
            var progressEvery = TimeSpan.FromSeconds(options.Value.ProgressSeconds);
            var lastReport = time.GetTimestamp();
            long rows;
            var datasetFile = await datasets.LocalPathAsync(dataset, cancel.Token);
            await using (var input = new FileStream(datasetFile, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan))
            using (var reader = new StreamReader(input, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, 1 << 16))
            await using (var output = new StreamWriter(new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous), new UTF8Encoding(false), 1 << 16))
            {
                rows = await CsvScoring.ScoreAsync(model, reader, output, $"dataset '{dataset.Name}'", async (done, ct) =>
                {
                    rowsDone = done;
                    if (time.GetElapsedTime(lastReport) < progressEvery)
                        return;
                    lastReport = time.GetTimestamp();
                    if (!await jobs.ReportProgressAsync(job.Id, done, ct))
                        throw new OperationCanceledException("The job is no longer running (cancelled, or failed by another server).");
                }, cancel.Token, options.Value.ChunkRows);
            }

            ArtifactRef result;
            await using (var file = File.OpenRead(temp))
                result = await artifacts.PutAsync(file, cancel.Token);
            if (await jobs.SucceedAsync(job.Id, rows, result.Sha256, result.Size, cancel.Token))
                LogSucceeded(job.Id, rows);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            await jobs.FailAsync(job.Id,
                $"the server stopped while the job ran ({rowsDone} of {job.RowsTotal} rows scored); its partial output was discarded. Start the job again.",
                CancellationToken.None);
            LogInterrupted(job.Id, rowsDone);
        }
        catch (OperationCanceledException)
        {
            LogCancelled(job.Id, rowsDone);
        }
        catch (Exception e)
        {
            // Columns that do not match, a bad value, a missing dataset or artifact, a full disk: the reason is the job's answer.
            await jobs.FailAsync(job.Id, e.Message, CancellationToken.None);
            LogFailed(job.Id, e.Message);
        }
        finally
        {
            _running.TryRemove(job.Id, out _);
            File.Delete(temp);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Batch job {JobId} started: {PackageId} over dataset '{Dataset}'")]
    private partial void LogStarted(string jobId, string packageId, string dataset);

    [LoggerMessage(Level = LogLevel.Information, Message = "Batch job {JobId} succeeded: {Rows} rows scored")]
    private partial void LogSucceeded(string jobId, long rows);

    [LoggerMessage(Level = LogLevel.Information, Message = "Batch job {JobId} cancelled after {Rows} rows")]
    private partial void LogCancelled(string jobId, long rows);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Batch job {JobId} failed because the server stopped, after {Rows} rows")]
    private partial void LogInterrupted(string jobId, long rows);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Batch job {JobId} failed: {Reason}")]
    private partial void LogFailed(string jobId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Batch job {JobId} was failed by the stale-job sweep: its server stopped reporting progress")]
    private partial void LogStale(string jobId);

    [LoggerMessage(Level = LogLevel.Error, Message = "The stale batch job sweep failed; it runs again at its next tick")]
    private partial void LogSweepFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "The batch job worker could not claim or run a job; it tries again after its poll interval")]
    private partial void LogWorkerFailed(Exception exception);
}
