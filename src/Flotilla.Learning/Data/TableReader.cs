using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Flotilla.Learning.Data;

/// <summary>Reads any CSV with a header into a <see cref="Table"/>, finding column types at run time.</summary>
public static class TableReader
{
    private const int MaxCategoriesInMessage = 5;

    /// <summary>Reads a file; refuses it with a <see cref="DataFormatException"/> naming file, line and column.</summary>
    public static Table Read(string path, CsvOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var name = Path.GetFileName(path);
        FileInfo info = new(path);
        if (!info.Exists)
        {
            throw new DataFormatException($"{path}: the file does not exist.");
        }

        if (info.Length > options.MaxBytes)
        {
            throw new DataFormatException(
                $"{name}: the file is {info.Length:N0} bytes, larger than the limit of {options.MaxBytes:N0} bytes. Raise the limit or sample the data.");
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
        return Read(stream, name, options, cancellationToken);
    }

    public static Table Read(Stream stream, CsvOptions options, CancellationToken cancellationToken) =>
        Read(stream, stream is FileStream file ? Path.GetFileName(file.Name) : "the uploaded CSV", options, cancellationToken);

    /// <summary>Reads a stream; <paramref name="sourceName"/> is how messages name it.</summary>
    public static Table Read(Stream stream, string sourceName, CsvOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(options);
        var (buffer, length) = ReadAllBytes(stream, sourceName, options.MaxBytes, cancellationToken);
        var bytes = buffer.AsSpan(0, length);
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var text = new UTF8Encoding(false, false).GetString(bytes);
        buffer = [];
        return Parse(text, sourceName, sha256, options, cancellationToken);
    }

    // One buffer of the exact size when the length is known (a file), a growing one otherwise.
    private static (byte[] Buffer, int Length) ReadAllBytes(Stream stream, string source, long maxBytes, CancellationToken cancellationToken)
    {
        if (stream.CanSeek)
        {
            var remaining = stream.Length - stream.Position;
            if (remaining > maxBytes)
            {
                throw new DataFormatException(
                    $"{source}: the file is {remaining:N0} bytes, larger than the limit of {maxBytes:N0} bytes. Raise the limit or sample the data.");
            }

            if (remaining > Array.MaxLength)
            {
                throw new DataFormatException($"{source}: the file is {remaining:N0} bytes, more than one table can hold. Split the file.");
            }

            var exact = new byte[remaining];
            var offset = 0;
            int count;
            while (offset < exact.Length && (count = stream.Read(exact, offset, Math.Min(1 << 20, exact.Length - offset))) > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                offset += count;
            }

            return (exact, offset);
        }

        using var memory = new MemoryStream();
        var chunk = new byte[1 << 16];
        int read;
        while ((read = stream.Read(chunk)) > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            memory.Write(chunk, 0, read);
            if (memory.Length > maxBytes)
            {
                throw new DataFormatException(
                    $"{source}: the data is larger than the limit of {maxBytes:N0} bytes. Raise the limit or sample the data.");
            }
        }

        return (memory.GetBuffer(), (int)memory.Length);
    }

    /// <summary>Whether a field counts as missing: empty, NA, N/A, ?, null or NaN (any case).</summary>
    internal static bool IsMissing(ReadOnlySpan<char> value)
    {
        value = value.Trim();
        if (value.Length > 4)
        {
            return false;
        }

        return value.Length == 0 ||
            value.Equals("NA", StringComparison.OrdinalIgnoreCase) ||
            value.Equals("N/A", StringComparison.OrdinalIgnoreCase) ||
            value is "?" ||
            value.Equals("null", StringComparison.OrdinalIgnoreCase) ||
            value.Equals("NaN", StringComparison.OrdinalIgnoreCase);
    }

    internal static bool TryParseNumber(ReadOnlySpan<char> value, out double number) =>
        double.TryParse(value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out number) && double.IsFinite(number);

    private static Table Parse(string text, string source, string sha256, CsvOptions options, CancellationToken cancellationToken)
    {
        var tokenizer = new CsvTokenizer(text, options.Delimiter, source);
        var fields = new List<CsvField>();
        if (!NextNonBlank(tokenizer, fields))
        {
            throw new DataFormatException($"{source}: the file is empty; expected a header line and data rows.");
        }

        var header = fields.Select((f, i) => f.Text(text).Trim() is { Length: > 0 } n ? n : $"column{i + 1}").ToArray();
        var duplicate = header.GroupBy(h => h, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new DataFormatException($"{source}, line 1: the header names column '{duplicate.Key}' more than once. Column names must be unique.");
        }

        var label = options.Label.Trim();
        var labelIndex = Array.IndexOf(header, label);
        if (labelIndex < 0)
        {
            throw new DataFormatException(
                $"{source}, line 1: the label column '{label}' is not in the header. Columns: {string.Join(", ", header)}.");
        }

        var excluded = new HashSet<string>(options.Exclude.Select(e => e.Trim()), StringComparer.Ordinal);
        if (excluded.Contains(label))
        {
            throw new DataFormatException($"{source}: the label column '{label}' is also listed in Exclude; remove it from Exclude.");
        }

        var featureIndexes = Enumerable.Range(0, header.Length).Where(i => i != labelIndex && !excluded.Contains(header[i])).ToArray();
        var labelPosition = featureIndexes.Count(i => i < labelIndex);
        var builders = featureIndexes.Select(i => new ColumnBuilder(header[i], i)).ToArray();
        var labelValues = new List<string>(3);
        var labelCodes = new List<byte>(1024);
        var labelLookup = new Dictionary<string, byte>(StringComparer.Ordinal);
        var row = 0;
        while (NextNonBlank(tokenizer, fields))
        {
            if (fields.Count != header.Length)
            {
                throw new DataFormatException(
                    $"{source}, line {tokenizer.RecordLine}: found {fields.Count} fields but the header has {header.Length}. Check for an unquoted delimiter or a missing value.");
            }

            if ((row & 4095) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var labelText = fields[labelIndex].Span(text).Trim();
            if (IsMissing(labelText))
            {
                throw new DataFormatException(
                    $"{source}, line {tokenizer.RecordLine}, column '{label}': the label is missing. Every row needs a label value.");
            }

            var labelLookupAlt = labelLookup.GetAlternateLookup<ReadOnlySpan<char>>();
            if (!labelLookupAlt.TryGetValue(labelText, out var code))
            {
                if (labelValues.Count == 2)
                {
                    throw new DataFormatException(
                        $"{source}, line {tokenizer.RecordLine}, column '{label}': a third label value '{labelText}' after '{labelValues[0]}' and '{labelValues[1]}'. The label must have exactly two classes.");
                }

                code = (byte)labelValues.Count;
                labelValues.Add(labelText.ToString());
                labelLookup[labelValues[^1]] = code;
            }

            labelCodes.Add(code);
            for (var b = 0; b < builders.Length; b++)
            {
                builders[b].Add(fields[builders[b].FileIndex]);
            }

            row++;
        }

        if (row == 0)
        {
            throw new DataFormatException($"{source}: the file has a header but no data rows.");
        }

        if (labelValues.Count < 2)
        {
            throw new DataFormatException(
                $"{source}, column '{label}': every row has the label '{labelValues[0]}'. A binary classifier needs two classes.");
        }

        var mapping = ChooseMapping(labelValues, options.PositiveLabel, source, label);
        var positiveCode = labelValues.IndexOf(mapping.Positive);
        var labels = new bool[row];
        for (var r = 0; r < row; r++)
        {
            labels[r] = labelCodes[r] == positiveCode;
        }

        var columns = new ColumnInfo[builders.Length];
        var store = new ColumnStore[builders.Length];
        for (var b = 0; b < builders.Length; b++)
        {
            (columns[b], store[b]) = builders[b].Build(text, source);
        }

        return new Table(source, label, labelPosition, mapping, columns, store, labels, sha256);
    }

    private static bool NextNonBlank(CsvTokenizer tokenizer, List<CsvField> fields)
    {
        while (tokenizer.NextRecord(fields))
        {
            if (fields is not [{ Length: 0, Quoted: false }])
            {
                return true;
            }
        }

        return false;
    }

    private static LabelMapping ChooseMapping(List<string> values, string? positive, string source, string label)
    {
        if (positive is not null)
        {
            positive = positive.Trim();
            return values.Contains(positive)
                ? new LabelMapping(values.First(v => v != positive), positive)
                : throw new DataFormatException(
                    $"{source}, column '{label}': the positive label '{positive}' is not one of its values '{values[0]}' and '{values[1]}'.");
        }

        var (a, b) = (values[0], values[1]);
        if (TryParseNumber(a, out var na) && TryParseNumber(b, out var nb))
        {
            return na < nb ? new LabelMapping(a, b) : new LabelMapping(b, a);
        }

        foreach (var (no, yes) in new[] { ("false", "true"), ("no", "yes"), ("n", "y"), ("negative", "positive") })
        {
            if (a.Equals(no, StringComparison.OrdinalIgnoreCase) && b.Equals(yes, StringComparison.OrdinalIgnoreCase))
            {
                return new LabelMapping(a, b);
            }

            if (b.Equals(no, StringComparison.OrdinalIgnoreCase) && a.Equals(yes, StringComparison.OrdinalIgnoreCase))
            {
                return new LabelMapping(b, a);
            }
        }

        // scikit-learn's LabelEncoder sorts the classes; the second one is the positive class.
        return string.CompareOrdinal(a, b) < 0 ? new LabelMapping(a, b) : new LabelMapping(b, a);
    }

    /// <summary>
    /// Collects one column's fields as slices of the text (start, and length with the sign marking a quoted
    /// field), then types it once all rows are in. Fields that held doubled quotes keep their unescaped copy.
    /// </summary>
    private sealed class ColumnBuilder(string name, int fileIndex)
    {
        private int[] _starts = new int[1024];
        private int[] _lengths = new int[1024];
        private Dictionary<int, string>? _unescaped;
        private int _count;

        public string Name => name;
        public int FileIndex => fileIndex;

        public void Add(CsvField field)
        {
            if (_count == _starts.Length)
            {
                Array.Resize(ref _starts, _starts.Length * 2);
                Array.Resize(ref _lengths, _lengths.Length * 2);
            }

            _starts[_count] = field.Start;
            _lengths[_count] = field.Quoted ? ~field.Length : field.Length;
            if (field.Unescaped is not null)
            {
                (_unescaped ??= [])[_count] = field.Unescaped;
            }

            _count++;
        }

        private ReadOnlySpan<char> Field(string text, int row, out bool quoted)
        {
            var length = _lengths[row];
            quoted = length < 0;
            if (_unescaped is not null && _unescaped.TryGetValue(row, out var unescaped))
            {
                return unescaped;
            }

            return text.AsSpan(_starts[row], quoted ? ~length : length);
        }

        public (ColumnInfo Info, ColumnStore Store) Build(string text, string source)
        {
            var numbers = new double[_count];
            var missing = 0;
            var numeric = true;
            for (var r = 0; r < _count; r++)
            {
                var value = Field(text, r, out _);
                if (IsMissing(value))
                {
                    numbers[r] = double.NaN;
                    missing++;
                }
                else if (!TryParseNumber(value, out numbers[r]))
                {
                    numeric = false;
                    break;
                }
            }

            if (numeric)
            {
                (_starts, _lengths, _unescaped) = ([], [], null);
                return missing == _count
                    ? throw EntirelyEmpty(source)
                    : (new ColumnInfo(name, ColumnKind.Numeric, missing, []), new ColumnStore(numbers, null));
            }

            var codes = new int[_count];
            var categories = new List<string>();
            var lookup = new Dictionary<string, int>(StringComparer.Ordinal);
            var alternate = lookup.GetAlternateLookup<ReadOnlySpan<char>>();
            missing = 0;
            for (var r = 0; r < _count; r++)
            {
                var value = Field(text, r, out var quoted);
                if (!quoted)
                {
                    value = value.Trim();
                }

                if (IsMissing(value))
                {
                    codes[r] = -1;
                    missing++;
                    continue;
                }

                if (!alternate.TryGetValue(value, out var code))
                {
                    code = categories.Count;
                    categories.Add(value.ToString());
                    lookup[categories[^1]] = code;
                }

                codes[r] = code;
            }

            (_starts, _lengths, _unescaped) = ([], [], null);
            return (new ColumnInfo(name, ColumnKind.Categorical, missing, categories), new ColumnStore(null, codes));
        }

        private DataFormatException EntirelyEmpty(string source) =>
            new($"{source}, column '{name}' (column {fileIndex + 1}): every value is missing. Remove the column or list it in Exclude.");
    }
}
