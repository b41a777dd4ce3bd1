using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Flotilla.Fleet.Observability;
using Flotilla.Learning.Artifacts;
using Flotilla.Storage.Artifacts;
using Microsoft.Extensions.Logging;
using Orleans.Placement;

namespace Flotilla.Fleet.Models;

/// <summary>
/// Holds one loaded model. It loads on the first call (from the artifact store, hash verified), admits itself
/// to the silo's <see cref="ModelBudget"/> (evicting least recently used models), and deactivates when evicted.
/// Placed on the silo that receives the first call, so a model is loaded where it is asked for.
/// </summary>
[PreferLocalPlacement]
internal sealed partial class ModelGrain(
    IGrainContext context,
    IArtifactStore artifacts,
    ModelBudget budget,
    FleetMetrics metrics,
    ILogger<ModelGrain> logger) : IGrainBase, IModelGrain
{
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_json;

    private readonly string _sha256 = context.GrainId.Key.ToString()!;
    private readonly FleetMetrics.ModelCounters _counters = metrics.For(context.GrainId.Key.ToString()!);
    private LoadedModel? _model;
    private ModelBudget.Entry? _entry;
    private bool _evicted;

    public IGrainContext GrainContext => context;

    public async Task<InvocationResult> InvokeAsync(InvocationRequest request)
    {
        if (_model is null)
        {
            _counters.Miss();
            var failure = await LoadAsync();
            if (failure is not null)
            {
                return failure;
            }
        }
        else
        {
            _counters.Hit();
            budget.Touch(_entry!);
        }
        return Score(_model!, request);
    }

    public async Task<ModelState> WarmAsync()
    {
        var failure = _model is null ? await LoadAsync() : null;
        return new ModelState(_sha256, failure is null, failure?.Outcome ?? InvocationOutcome.Scored, failure?.Error,
            context.Address.SiloAddress!.ToString(), _entry?.Bytes ?? 0);
    }

    public Task OnDeactivateAsync(DeactivationReason reason, CancellationToken token)
    {
        if (_entry is not null)
        {
            budget.Release(_entry);
            if (_evicted)
            {
                _counters.Evicted();
            }
        }
        _model = null;
        return Task.CompletedTask;
    }

    private async Task<InvocationResult?> LoadAsync()
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            byte[] bytes;
            await using (var stream = await artifacts.OpenReadAsync(_sha256, CancellationToken.None))
            {
                if (stream.CanSeek && stream.Length > budget.CapacityBytes)
                {
                    throw new ModelTooLargeException(_sha256, stream.Length, budget.CapacityBytes);
                }
                using var copy = new MemoryStream(stream.CanSeek ? (int)stream.Length : 0);
                await stream.CopyToAsync(copy);
                bytes = copy.ToArray();
            }
            var model = ModelArtifact.Load(bytes, _sha256);
            (_entry, var evicted) = budget.Admit(_sha256, model.ApproximateBytes, Evict);
            _model = model;
            var elapsed = Stopwatch.GetTimestamp() - started;
            _counters.Loaded(elapsed);
            LogLoaded(_sha256, model.ApproximateBytes, elapsed * 1000.0 / Stopwatch.Frequency, evicted.Count);
            return null;
        }
        catch (ArtifactNotFoundException)
        {
            return Refuse(InvocationOutcome.UnknownModel, $"No model artifact {_sha256} exists in the artifact store.");
        }
        catch (ModelTooLargeException e)
        {
            return Refuse(InvocationOutcome.Unavailable, e.Message);
        }
        catch (ArtifactException e)
        {
            return Refuse(InvocationOutcome.Unavailable, $"Model {_sha256} cannot be loaded: {e.Message}");
        }
        catch (ArtifactIntegrityException e)
        {
            return Refuse(InvocationOutcome.Unavailable, $"Model {_sha256} cannot be loaded: {e.Message}");
        }
        catch (IOException e)
        {
            return Refuse(InvocationOutcome.Unavailable, $"Model {_sha256} cannot be read from the artifact store: {e.Message}");
        }
    }

    /// <summary>A failed load leaves nothing behind: the activation goes, so a later call tries again.</summary>
    private InvocationResult Refuse(InvocationOutcome outcome, string reason)
    {
        _counters.LoadFailed();
        LogRefused(_sha256, reason);
        this.DeactivateOnIdle();
        return InvocationResult.Failed(outcome, reason);
    }

    /// <summary>Called by the budget, possibly from another grain's turn: deactivation is thread-safe and waits for calls in flight.</summary>
    private void Evict()
    {
        _evicted = true;
        context.Deactivate(new DeactivationReason(DeactivationReasonCode.ApplicationRequested, "evicted to stay within the silo's memory budget"), CancellationToken.None);
    }

    private static InvocationResult Score(LoadedModel model, InvocationRequest request)
    {
        IReadOnlyList<Prediction> predictions;
        try
        {
            if (request.Input == PayloadFormat.Csv)
            {
                predictions = model.PredictCsv(request.Body);
            }
            else
            {
                using var document = JsonDocument.Parse(request.Body);
                predictions = model.PredictJson(document.RootElement);
            }
        }
        catch (InvalidRowException e)
        {
            return InvocationResult.Failed(InvocationOutcome.InvalidInput, e.Message);
        }
        catch (JsonException e)
        {
            return InvocationResult.Failed(InvocationOutcome.InvalidInput,
                $"The body is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): send an array of objects with values by feature name, or CSV rows as text/csv.");
        }
        return new InvocationResult(InvocationOutcome.Scored, Format(predictions, request.Output), null, predictions.Count);
    }

    private static byte[] Format(IReadOnlyList<Prediction> predictions, PayloadFormat output)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(256);
        buffer.ResetWrittenCount();
        if (output == PayloadFormat.Csv)
        {
            Span<byte> number = stackalloc byte[32];
            foreach (var p in predictions)
            {
                WriteCsvField(buffer, p.Label);
                buffer.Write(","u8);
                p.Probability.TryFormat(number, out var written, "R", CultureInfo.InvariantCulture);
                buffer.Write(number[..written]);
                buffer.Write("\n"u8);
            }
        }
        else
        {
            var json = t_json ??= new Utf8JsonWriter(buffer);
            json.Reset(buffer);
            json.WriteStartObject();
            json.WriteStartArray("predictions");
            foreach (var p in predictions)
            {
                json.WriteStartObject();
                json.WriteString("label", p.Label);
                json.WriteNumber("probability", p.Probability);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
            json.Flush();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteCsvField(ArrayBufferWriter<byte> buffer, string value)
    {
        if (value.AsSpan().IndexOfAny(",\"\n\r") < 0)
        {
            Encoding.UTF8.GetBytes(value, buffer);
            return;
        }
        Encoding.UTF8.GetBytes("\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"", buffer);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded model {Sha256}: {Bytes} bytes in {Milliseconds:F1} ms, {Evicted} evicted to make room")]
    private partial void LogLoaded(string sha256, long bytes, double milliseconds, int evicted);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused to load model {Sha256}: {Reason}")]
    private partial void LogRefused(string sha256, string reason);
}
