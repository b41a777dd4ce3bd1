using System.Security.Cryptography;
using System.Text;

namespace Flotilla.Learning.Data;

/// <summary>One column as a streamed pass saw it: numeric when every present value is a number, its missing values, its first categories.</summary>
public sealed record ScannedColumn(string Name, ColumnKind Kind, int Missing, IReadOnlyList<string> Categories);

/// <summary>What <see cref="CsvScan.ReadAsync"/> found: the file's SHA-256, its data rows and its columns.</summary>
public sealed record ScannedCsv(string Sha256, long Rows, IReadOnlyList<ScannedColumn> Columns);

/// <summary>
/// Checks a CSV with a header in one streamed pass, keeping no rows: every record has the header's number of fields,
/// names are unique, there is at least one data row. For a file that is scored rather than trained on, whatever its
/// size (a table must fit in memory and needs a label); a problem is a <see cref="DataFormatException"/> naming the
/// line.
/// </summary>
public static class CsvScan
{
    /// <summary>Categories kept per column, as a dataset lists them.</summary>
    public const int MaxCategories = 50;

    private const int ChunkRecords = 4096;

    public static async Task<ScannedCsv> ReadAsync(string path, string source, CancellationToken cancellationToken)
    {
        string sha256;
        await using (var hashed = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan))
        {
            sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(hashed, cancellationToken));
        }

        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        using var text = new StreamReader(stream, new UTF8Encoding(false, false), detectEncodingFromByteOrderMarks: false, 1 << 16);
        var reader = new CsvChunkReader(text);
        var tokenizer = new CsvTokenizer(',', source);
        var fields = new List<CsvField>();
        if (await reader.ReadAsync(1, cancellationToken) == 0)
        {
            throw new DataFormatException($"{source}: the file is empty; expected a header line and data rows.");
        }

        var headerText = reader.Record(0);
        tokenizer.Reset(headerText, reader.Line(0));
        tokenizer.NextRecord(fields);
        var header = fields.Select((f, i) => f.Text(headerText.Span).Trim() is { Length: > 0 } n ? n : $"column{i + 1}").ToArray();
        if (header.GroupBy(h => h, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
        {
            throw new DataFormatException($"{source}, line 1: the header names column '{duplicate.Key}' more than once. Column names must be unique.");
        }

        var missing = new int[header.Length];
        var numeric = Enumerable.Repeat(true, header.Length).ToArray();
        var categories = header.Select(_ => new List<string>()).ToArray();
        long rows = 0;
        while (await reader.ReadAsync(ChunkRecords, cancellationToken) is var count and > 0)
        {
            for (var r = 0; r < count; r++)
            {
                Scan(reader.Record(r), reader.Line(r));
            }
            rows += count;
        }

        if (rows == 0)
        {
            throw new DataFormatException($"{source}: the file has a header but no data rows.");
        }
        return new ScannedCsv(sha256, rows, [.. header.Select((name, c) => new ScannedColumn(
            name, numeric[c] ? ColumnKind.Numeric : ColumnKind.Categorical, missing[c], numeric[c] ? [] : categories[c]))]);

        void Scan(ReadOnlyMemory<char> record, int line)
        {
            tokenizer.Reset(record, line);
            tokenizer.NextRecord(fields);
            if (fields.Count != header.Length)
            {
                throw new DataFormatException(
                    $"{source}, line {line}: found {fields.Count} fields but the header has {header.Length}. Check for an unquoted delimiter or a missing value.");
            }
            for (var c = 0; c < header.Length; c++)
            {
                var value = fields[c].Span(record.Span).Trim();
                if (TableReader.IsMissing(value))
                {
                    missing[c]++;
                    continue;
                }
                if (numeric[c] && !TableReader.TryParseNumber(value, out _))
                {
                    numeric[c] = false;
                }
                if (categories[c].Count < MaxCategories && !Contains(categories[c], value))
                {
                    categories[c].Add(value.ToString());
                }
            }
        }
    }

    private static bool Contains(List<string> values, ReadOnlySpan<char> value)
    {
        foreach (var known in values)
        {
            if (value.SequenceEqual(known))
            {
                return true;
            }
        }
        return false;
    }
}
