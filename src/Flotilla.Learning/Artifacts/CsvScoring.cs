using System.Buffers;
using System.Globalization;
using Flotilla.Learning.Data;

namespace Flotilla.Learning.Artifacts;

/// <summary>The file's header does not hold every column the model needs; the message names the missing ones and the file's.</summary>
public sealed class ColumnMismatchException(string message, IReadOnlyList<string> missing, IReadOnlyList<string> found) : Exception(message)
{
    public IReadOnlyList<string> Missing { get; } = missing;

    public IReadOnlyList<string> Found { get; } = found;
}

/// <summary>
/// Scores a CSV with a header as a stream: chunks of records are read, scored and written, so memory stays bounded
/// whatever the file's size. Columns are matched to the model's features by header name (extra columns are kept and
/// ignored); each output row is the input record as it was, then the predicted label and its probability.
/// </summary>
public static class CsvScoring
{
    /// <summary>Records per chunk: large enough that the per-chunk callback is rare, small enough to stay in cache.</summary>
    public const int DefaultChunkRows = 8192;

    /// <summary>
    /// Reads <paramref name="input"/> (header first), writes the scored CSV to <paramref name="output"/> and returns
    /// the number of rows scored. <paramref name="afterChunk"/> gets the rows done so far after every chunk; it may
    /// throw to stop the run (cancellation). A header missing a feature throws <see cref="ColumnMismatchException"/>
    /// before anything is written; a bad value throws <see cref="InvalidRowException"/> naming line and column.
    /// </summary>
    public static async Task<long> ScoreAsync(
        LoadedModel model, TextReader input, TextWriter output, string source,
        Func<long, CancellationToken, ValueTask>? afterChunk, CancellationToken cancellationToken, int chunkRows = DefaultChunkRows)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkRows, 1);
        var reader = new CsvChunkReader(input);
        var headerText = await ReadHeaderAsync(model, reader, source, cancellationToken);
        var header = Header(headerText, source);
        var sources = MapColumns(model.Schema, header, source);

        var labelColumn = header.Contains("label", StringComparer.Ordinal) ? "predicted_label" : "label";
        var probabilityColumn = header.Contains("probability", StringComparer.Ordinal) ? "predicted_probability" : "probability";
        await output.WriteAsync(headerText.AsMemory(), cancellationToken);
        await output.WriteAsync($",{labelColumn},{probabilityColumn}\n".AsMemory(), cancellationToken);

        // One output buffer for the whole run: a chunk's rows are written into it and it is handed to the writer as is.
        var scored = new ArrayBufferWriter<char>(1 << 16);
        var scorer = new ChunkScorer(model, sources, header.Count, source);
        long done = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var count = await reader.ReadAsync(chunkRows, cancellationToken);
            if (count == 0)
            {
                break;
            }

            scored.ResetWrittenCount();
            scorer.Score(reader, done, scored);
            await output.WriteAsync(scored.WrittenMemory, cancellationToken);
            done += count;
            if (afterChunk is not null)
            {
                await afterChunk(done, cancellationToken);
            }
        }

        await output.FlushAsync(cancellationToken);
        return done;
    }

    /// <summary>Reads only the header of <paramref name="input"/> and throws <see cref="ColumnMismatchException"/> when it lacks a feature.</summary>
    public static async Task CheckColumnsAsync(LoadedModel model, TextReader input, string source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        var headerText = await ReadHeaderAsync(model, new CsvChunkReader(input), source, cancellationToken);
        MapColumns(model.Schema, Header(headerText, source), source);
    }

    private static async Task<string> ReadHeaderAsync(LoadedModel model, CsvChunkReader reader, string source, CancellationToken cancellationToken) =>
        await reader.ReadAsync(1, cancellationToken) == 0
            ? throw new ColumnMismatchException($"{source} is empty: expected a header row naming the columns.", [.. model.Schema.Features.Select(f => f.Name)], [])
            : reader.Record(0).ToString();

    private static List<string> Header(string headerText, string source)
    {
        var fields = new List<CsvField>();
        var tokenizer = new CsvTokenizer(headerText, ',', source);
        tokenizer.NextRecord(fields);
        return [.. fields.Select(f => f.Text(headerText).Trim())];
    }

    private static int[] MapColumns(ModelSchema schema, List<string> header, string source)
    {
        var sources = new int[schema.Features.Count];
        var missing = new List<string>();
        for (var f = 0; f < sources.Length; f++)
        {
            sources[f] = header.IndexOf(schema.Features[f].Name);
            if (sources[f] < 0)
            {
                missing.Add(schema.Features[f].Name);
            }
        }

        if (missing.Count > 0)
        {
            throw new ColumnMismatchException(
                $"{source} does not match the model: it lacks the column{(missing.Count == 1 ? "" : "s")} {string.Join(", ", missing.Select(m => $"'{m}'"))}. " +
                $"The model needs {string.Join(", ", schema.Features.Select(f => f.Name))}; the file has {string.Join(", ", header)}.",
                missing, header);
        }

        return sources;
    }

    /// <summary>Turns one chunk of records into output rows; one per run, reused across chunks, allocating nothing per row.</summary>
    private sealed class ChunkScorer(LoadedModel model, int[] sources, int width, string source)
    {
        private readonly List<CsvField> _fields = new(width);
        private readonly float[] _values = new float[sources.Length];
        private readonly CsvTokenizer _tokenizer = new(',', source);

        public void Score(CsvChunkReader chunk, long rowsBefore, ArrayBufferWriter<char> output)
        {
            for (var r = 0; r < chunk.Count; r++)
            {
                var line = rowsBefore + r + 1;
                var record = chunk.Record(r);
                _tokenizer.Reset(record, chunk.Line(r));
                try
                {
                    _tokenizer.NextRecord(_fields);
                }
                catch (DataFormatException e)
                {
                    throw new InvalidRowException($"{source}, row {line}: {e.Message}", e);
                }

                if (_fields.Count != width)
                {
                    throw new InvalidRowException($"{source}, row {line}: {_fields.Count} values, but the header has {width} columns.");
                }

                var text = record.Span;
                for (var f = 0; f < sources.Length; f++)
                {
                    var field = _fields[sources[f]];
                    var span = field.Span(text);
                    _values[f] = Parse(f, field.Quoted ? span : span.Trim(), line);
                }

                var positive = model.PositiveProbability(_values);
                // The model's own cut, as every other door labels with it.
                var isPositive = positive >= model.DecisionThreshold;
                output.Write(text);
                output.Write(",");
                output.Write(model.Schema.LabelMapping[isPositive]);
                output.Write(",");
                var digits = output.GetSpan(32);
                (isPositive ? positive : 1 - positive).TryFormat(digits, out var written, "R", CultureInfo.InvariantCulture);
                digits[written] = '\n';
                output.Advance(written + 1);
            }
        }

        private float Parse(int feature, ReadOnlySpan<char> text, long line)
        {
            if (TableReader.IsMissing(text))
            {
                return float.NaN;
            }

            var spec = model.Schema.Features[feature];
            if (spec.Kind == ColumnKind.Numeric)
            {
                return TableReader.TryParseNumber(text, out var number)
                    ? (float)number
                    : throw new InvalidRowException(
                        $"{source}, row {line}, column '{spec.Name}': '{text}' is not a number (missing values may be empty, NA, ? or null).");
            }

            return model.Schema.CategoryIndex(feature, text);
        }
    }
}
