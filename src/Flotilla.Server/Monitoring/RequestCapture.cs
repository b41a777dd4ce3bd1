using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Flotilla.Fleet.Aliases;
using Flotilla.Fleet.Models;
using Flotilla.Learning.Artifacts;
using Flotilla.Storage.Artifacts;
using Microsoft.Extensions.Options;

namespace Flotilla.Server.Monitoring;

/// <summary>One captured invocation: what was asked and what was answered.</summary>
internal sealed record CapturedCall(
    string Group, int? Version, string ArtifactSha256, string RequestId, DateTimeOffset Time, PayloadFormat Input, string Request, PayloadFormat Output, byte[] Response);

/// <summary>
/// Keeps a sampled share of each group's invocations (<see cref="CaptureSettings"/>) and writes them in batches to
/// the artifact store as gzip-compressed JSON lines, one object per group and hour:
/// <c>capture/&lt;group&gt;/&lt;yyyy-MM-dd-HH&gt;/&lt;time&gt;-&lt;server&gt;.jsonl.gz</c>, a line per scored row
/// (<see cref="CaptureLine"/>). Never blocks or fails an invocation: the queue is bounded, a full queue drops the call
/// and counts it, the rows are read from the body and the answer by the writer, not the front door, and a failed
/// write is logged. Past <see cref="CaptureOptions.MaxBytesPerGroup"/> a group's oldest batches are deleted.
/// </summary>
public sealed partial class RequestCapture : BackgroundService
{
    public const string Prefix = "capture/";

    private readonly Channel<CapturedCall> _queue;
    private readonly CaptureSettings _settings;
    private readonly AliasCache _aliases;
    private readonly IArtifactStore _store;
    private readonly CaptureOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<RequestCapture> _logger;
    private readonly string _server = Guid.NewGuid().ToString("N")[..8];
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private readonly ModelSchemas _schemas;

    // Stored bytes per group as last listed plus what this server wrote since: a listing per batch grew with the cap.
    private readonly Dictionary<string, (long Bytes, long ListedAt)> _stored = new(StringComparer.Ordinal);
    private long _dropped;
    private long _written;

    public RequestCapture(
        CaptureSettings settings, AliasCache aliases, IArtifactStore store, ModelSchemas schemas, IOptions<CaptureOptions> options, TimeProvider time, ILogger<RequestCapture> logger)
    {
        _schemas = schemas;
        _settings = settings;
        _aliases = aliases;
        _store = store;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _queue = Channel.CreateBounded<CapturedCall>(new BoundedChannelOptions(_options.QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    }

    /// <summary>Calls dropped because the queue was full, since this server started.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Calls written to the store, since this server started.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>
    /// Called by the front door after a scored call: samples it by its group's share and queues it. Costs one field
    /// read while no group captures.
    /// </summary>
    public void Offer(string target, string artifactSha256, InvocationRequest request, byte[] response)
    {
        if (!_settings.Any)
        {
            return;
        }
        var group = _aliases.TryGet(target, out _) ? target : _aliases.TryGetByArtifact(artifactSha256, out var deployment) ? deployment.Group : null;
        if (group is null)
        {
            return;
        }
        var percent = _settings.PercentOf(group);
        if (percent <= 0 || (percent < 100 && Random.Shared.NextDouble() * 100 >= percent))
        {
            return;
        }
        var call = new CapturedCall(group, request.Version, artifactSha256, request.RequestId ?? "", _time.GetUtcNow(), request.Input, request.Body, request.Output, response);
        if (!_queue.Writer.TryWrite(call))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>How often a non-empty queue is looked at: calls leave it young, before most of them outlive a gen0 collection.</summary>
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);

    /// <summary>How long a group's known stored bytes are trusted before it is listed again.</summary>
    private static readonly TimeSpan RelistAfter = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        long? waitingSince = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (_queue.Reader.Count == 0)
                {
                    // Nothing queued: sleep until a call is, not on a timer.
                    await _queue.Reader.WaitToReadAsync(stoppingToken);
                    waitingSince ??= _time.GetTimestamp();
                }
                else
                {
                    waitingSince ??= _time.GetTimestamp();
                    await Task.Delay(Poll < _options.FlushInterval ? Poll : _options.FlushInterval, _time, stoppingToken);
                }
                if (_queue.Reader.Count >= _options.BatchRecords || _time.GetElapsedTime(waitingSince.Value) >= _options.FlushInterval)
                {
                    await FlushAsync(stoppingToken);
                    waitingSince = null;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                LogWriteFailed(_logger, e);
            }
        }
        // What is queued at shutdown is written rather than lost.
        try
        {
            using var last = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await FlushAsync(last.Token);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogWriteFailed(_logger, e);
        }
    }

    /// <summary>Writes everything queued now, one object per group and hour, then holds each group under its byte cap.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _flushing.WaitAsync(cancellationToken);
        try
        {
            var batch = new List<CapturedCall>();
            while (_queue.Reader.TryRead(out var call))
            {
                batch.Add(call);
            }
            var models = new Dictionary<string, BatchModel?>(StringComparer.Ordinal);
            foreach (var sha256 in batch.Select(c => c.ArtifactSha256).Distinct(StringComparer.Ordinal))
            {
                models[sha256] = await _schemas.GetAsync(sha256, cancellationToken) is { } schema
                    ? new BatchModel(schema, CaptureLine.Names(schema), JsonEncodedText.Encode(sha256))
                    : null;
            }
            foreach (var part in batch.GroupBy(c => (c.Group, Hour: c.Time.ToString("yyyy-MM-dd-HH", CultureInfo.InvariantCulture))))
            {
                var (lines, written) = Compress(JsonEncodedText.Encode(part.Key.Group), part, models);
                using (lines)
                {
                    if (written == 0)
                    {
                        continue;
                    }
                    var key = $"{Prefix}{part.Key.Group}/{part.Key.Hour}/{_time.GetUtcNow():yyyyMMddTHHmmssfff}-{_server}.jsonl.gz";
                    var size = lines.Length;
                    await _store.PutObjectAsync(key, lines, cancellationToken);
                    if (_stored.TryGetValue(part.Key.Group, out var stored))
                    {
                        _stored[part.Key.Group] = (stored.Bytes + size, stored.ListedAt);
                    }
                }
                Interlocked.Add(ref _written, written);
            }
            foreach (var group in batch.Select(c => c.Group).Distinct(StringComparer.Ordinal))
            {
                await TrimAsync(group, cancellationToken);
            }
        }
        finally
        {
            _flushing.Release();
        }
    }

    /// <summary>
    /// Deletes the group's oldest batches (keys sort by hour, then time) until it is within its cap; the newest is always
    /// kept. Lists the group only when its known total passes the cap or is a minute old (other servers write too).
    /// </summary>
    private async Task TrimAsync(string group, CancellationToken cancellationToken)
    {
        if (_stored.TryGetValue(group, out var known) && known.Bytes <= _options.MaxBytesPerGroup && _time.GetElapsedTime(known.ListedAt) < RelistAfter)
        {
            return;
        }
        var objects = new List<StoredObject>();
        await foreach (var o in _store.ListObjectsAsync($"{Prefix}{group}/", cancellationToken))
        {
            objects.Add(o);
        }
        var total = objects.Sum(o => o.Size);
        foreach (var oldest in objects.Take(objects.Count - 1))
        {
            if (total <= _options.MaxBytesPerGroup)
            {
                break;
            }
            await _store.DeleteObjectAsync(oldest.Key, cancellationToken);
            total -= oldest.Size;
        }
        _stored[group] = (total, _time.GetTimestamp());
    }

    /// <summary>A batch's lines, gzip-compressed, and how many calls they hold (a call whose rows cannot be read is left out, logged).</summary>
    private (MemoryStream Lines, int Calls) Compress(JsonEncodedText group, IEnumerable<CapturedCall> calls, Dictionary<string, BatchModel?> models)
    {
        var output = new MemoryStream();
        var written = 0;
        using (var compressed = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        // Lines reach the compressor in large blocks: a deflate call per line cost more than the line.
        using (var gzip = new BufferedStream(compressed, 1 << 16))
        using (var json = new Utf8JsonWriter(gzip))
        {
            foreach (var call in calls)
            {
                if (models.GetValueOrDefault(call.ArtifactSha256) is not { } model || Rows(call, model.Schema) is not { } rows)
                {
                    continue;
                }
                for (var row = 0; row < rows.Count; row++)
                {
                    json.Reset(gzip);
                    CaptureLine.Write(json, call, group, model.Artifact, model.Names, row, rows[row]);
                    json.Flush();
                    gzip.WriteByte((byte)'\n');
                }
                written++;
            }
        }
        output.Position = 0;
        return (output, written);
    }

    /// <summary>A model of the batch: its schema, and what every line of it repeats, encoded once.</summary>
    private sealed record BatchModel(ModelSchema Schema, JsonEncodedText[] Names, JsonEncodedText Artifact);

    /// <summary>Each scored row of the call: its features by name and the answer's label and probability.</summary>
    private List<CaptureRow>? Rows(CapturedCall call, ModelSchema schema)
    {
        try
        {
            List<RowValue[]> features;
            if (call.Input == PayloadFormat.Csv)
            {
                features = InvocationRows.FromCsv(schema, call.Request);
            }
            else
            {
                using var request = JsonDocument.Parse(call.Request);
                features = InvocationRows.FromJson(schema, request.RootElement);
            }
            var answers = Answers(call);
            if (answers.Count != features.Count)
            {
                LogUnreadable(_logger, call.Group, call.RequestId, $"{features.Count} rows asked, {answers.Count} answered");
                return null;
            }
            var rows = new List<CaptureRow>(features.Count);
            for (var i = 0; i < features.Count; i++)
            {
                rows.Add(new CaptureRow(features[i], answers[i].Label, answers[i].Probability));
            }
            return rows;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // One unreadable call must not cost the batch it is in.
            LogUnreadable(_logger, call.Group, call.RequestId, e.Message);
            return null;
        }
    }

    /// <summary>The answer's predictions, in the format the model wrote it (CSV lines <c>label,probability</c> or JSON <c>predictions</c>).</summary>
    private static List<(string Label, double Probability)> Answers(CapturedCall call)
    {
        if (call.Output == PayloadFormat.Csv)
        {
            return [.. InvocationRows.CsvRecords(Encoding.UTF8.GetString(call.Response))
                .Select(r => (r[0], double.Parse(r[1], NumberStyles.Float, CultureInfo.InvariantCulture)))];
        }
        // {"predictions": [{"label", "probability"}, …], …} as the model wrote it: read in place, no document.
        var answers = new List<(string, double)>();
        var reader = new Utf8JsonReader(call.Response);
        string? label = null;
        var probability = double.NaN;
        var depth = 0;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    depth++;
                    break;
                case JsonTokenType.EndObject:
                    if (--depth == 1 && label is not null)
                    {
                        answers.Add((label, probability));
                        label = null;
                    }
                    break;
                case JsonTokenType.PropertyName when depth == 2:
                    if (reader.ValueTextEquals("label"u8))
                    {
                        reader.Read();
                        label = reader.GetString();
                    }
                    else if (reader.ValueTextEquals("probability"u8))
                    {
                        reader.Read();
                        probability = reader.GetDouble();
                    }
                    break;
            }
        }
        return answers;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A captured call of group {Group} (request {RequestId}) is not written: {Reason}")]
    private static partial void LogUnreadable(ILogger logger, string group, string requestId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing captured invocations failed; those in this batch are lost, capture goes on")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception);
}
