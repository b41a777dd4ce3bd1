using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Flotilla.Fleet.Monitoring;
using Flotilla.Learning.Artifacts;

namespace Flotilla.Fleet.Models;

/// <summary>Scores an invocation's rows with a loaded model and formats the answer (CSV or JSON bytes).</summary>
internal static class ModelScoring
{
    // Formatting reuses one buffer and writer per thread: scoring is synchronous, so nothing else uses them meanwhile.
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_json;

    public static InvocationResult Score(LoadedModel model, InvocationRequest request, LiveMonitor monitor)
    {
        IReadOnlyList<Prediction> predictions;
        var watch = request.Shadow ? null : monitor.Watch(model);
        try
        {
            if (request.Input == PayloadFormat.Csv)
            {
                predictions = model.PredictCsv(request.Body, watch?.Drift);
            }
            else
            {
                using var document = JsonDocument.Parse(request.Body);
                predictions = model.PredictJson(document.RootElement, watch?.Drift);
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
        watch?.Scored(request, predictions, monitor.Time.GetUtcNow().ToUnixTimeMilliseconds());
        return new InvocationResult(InvocationOutcome.Scored, Format(predictions, request), null, predictions.Count);
    }

    private static byte[] Format(IReadOnlyList<Prediction> predictions, InvocationRequest request)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(256);
        buffer.ResetWrittenCount();
        if (request.Output == PayloadFormat.Csv)
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
            if (request.Version is { } version)
            {
                json.WriteNumber("version", version);
            }
            else
            {
                json.WriteNull("version");
            }
            if (request.RequestId is { } requestId)
            {
                json.WriteString("requestId", requestId);
            }
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
}
