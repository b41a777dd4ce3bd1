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
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(buffer.AsSpan(0, length)));
        return Parse(buffer, length, sourceName, sha256, options, cancellationToken);
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

    // Bytes decode as the rest of .NET decodes them: invalid sequences become U+FFFD, never an error.
    private static readonly UTF8Encoding Utf8 = new(false, false);

    private static Table Parse(byte[] bytes, int length, string source, string sha256, CsvOptions options, CancellationToken cancellationToken)
    {
        var tokenizer = new Utf8CsvTokenizer(bytes, length, options.Delimiter, source);
        var fields = new List<Utf8Field>();
        if (!NextNonBlank(tokenizer, fields))
        {
            throw new DataFormatException($"{source}: the file is empty; expected a header line and data rows.");
        }

        var header = fields.Select((f, i) => Text(tokenizer, f).Trim() is { Length: > 0 } n ? n : $"column{i + 1}").ToArray();
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

        var capacity = RowsAtMost(bytes.AsSpan(0, length));
        var featureIndexes = Enumerable.Range(0, header.Length).Where(i => i != labelIndex && !excluded.Contains(header[i])).ToArray();
        var labelPosition = featureIndexes.Count(i => i < labelIndex);
        var builders = featureIndexes.Select(i => new ColumnBuilder(header[i], i, capacity)).ToArray();
        var labelValues = new List<string>(3);
        var labelCodes = new byte[capacity];
        var labelLookup = new Dictionary<string, byte>(StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
        var recordStarts = new int[capacity];
        var scratch = new TextScratch();
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

            var labelText = scratch.Decode(tokenizer, fields[labelIndex]).Trim();
            if (IsMissing(labelText))
            {
                throw new DataFormatException(
                    $"{source}, line {tokenizer.RecordLine}, column '{label}': the label is missing. Every row needs a label value.");
            }

            if (!labelLookup.TryGetValue(labelText, out var code))
            {
                if (labelValues.Count == 2)
                {
                    throw new DataFormatException(
                        $"{source}, line {tokenizer.RecordLine}, column '{label}': a third label value '{labelText}' after '{labelValues[0]}' and '{labelValues[1]}'. The label must have exactly two classes.");
                }

                code = (byte)labelValues.Count;
                labelValues.Add(labelText.ToString());
                labelLookup.Dictionary[labelValues[^1]] = code;
            }

            labelCodes[row] = code;
            recordStarts[row] = tokenizer.RecordStart;
            for (var b = 0; b < builders.Length; b++)
            {
                builders[b].Add(tokenizer, fields[builders[b].FileIndex], row, scratch);
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
            (columns[b], store[b]) = builders[b].Build(tokenizer, recordStarts, row, scratch, source);
        }

        return new Table(source, label, labelPosition, mapping, columns, store, labels, sha256);
    }

    /// <summary>
    /// The data rows there can be: records (line ends, one more when the last line has none) less the header. Blank
    /// lines and line breaks inside quotes make it an overestimate; otherwise it is exact, so each column's array is
    /// allocated once at its final size.
    /// </summary>
    private static int RowsAtMost(ReadOnlySpan<byte> data)
    {
        // LF, CRLF and a lone CR each end a line.
        var ends = data.Count((byte)'\n') + data.Count((byte)'\r') - data.Count("\r\n"u8);
        var last = data.IsEmpty ? (byte)'\n' : data[^1];
        return Math.Max(1, ends + (last is (byte)'\n' or (byte)'\r' ? 0 : 1) - 1);
    }

    private static string Text(Utf8CsvTokenizer tokenizer, Utf8Field field) => new TextScratch().Decode(tokenizer, field).ToString();

    private static bool NextNonBlank(Utf8CsvTokenizer tokenizer, List<Utf8Field> fields)
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

    // The ASCII characters char.IsWhiteSpace trims.
    private static ReadOnlySpan<byte> AsciiWhiteSpace => " \t\n\v\f\r\u001C\u001D\u001E\u001F"u8;

    /// <summary>Whether a field's bytes count as missing (see <see cref="IsMissing(ReadOnlySpan{char})"/>), decoding only what is not ASCII.</summary>
    private static bool IsMissing(ReadOnlySpan<byte> value, TextScratch scratch, Utf8CsvTokenizer tokenizer, Utf8Field field)
    {
        value = value.Trim(AsciiWhiteSpace);
        if (value.Length > 0 && (value[0] >= 0x80 || value[^1] >= 0x80))
        {
            return IsMissing(scratch.Decode(tokenizer, field));
        }

        return value.Length == 0 || (value.Length <= 4 &&
            (Ascii.EqualsIgnoreCase(value, "NA"u8) || Ascii.EqualsIgnoreCase(value, "N/A"u8) || value is [(byte)'?'] ||
             Ascii.EqualsIgnoreCase(value, "null"u8) || Ascii.EqualsIgnoreCase(value, "NaN"u8)));
    }

    /// <summary><see cref="TryParseNumber(ReadOnlySpan{char}, out double)"/> on a field's bytes.</summary>
    private static bool TryParseNumber(ReadOnlySpan<byte> value, TextScratch scratch, Utf8CsvTokenizer tokenizer, Utf8Field field, out double number)
    {
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out number))
        {
            return double.IsFinite(number);
        }

        // What the byte parser refuses, the text rules decide (Unicode spaces, escaped quotes). A column meets this at
        // most once: a value that is no number either way makes it a text column.
        return TryParseNumber(scratch.Decode(tokenizer, field), out number);
    }

    /// <summary>A reusable buffer a field is decoded into (quotes unescaped), valid until the next decode.</summary>
    private sealed class TextScratch
    {
        private char[] _chars = new char[256];

        public ReadOnlySpan<char> Decode(Utf8CsvTokenizer tokenizer, Utf8Field field)
        {
            var bytes = tokenizer.Span(field);
            var most = Utf8.GetMaxCharCount(bytes.Length);
            if (most > _chars.Length)
            {
                _chars = new char[Math.Max(most, _chars.Length * 2)];
            }

            var count = Utf8.GetChars(bytes, _chars);
            if (!field.Escaped)
            {
                return _chars.AsSpan(0, count);
            }

            // "" inside a quoted field is one quote; a quoted field holds no lone quote.
            var written = 0;
            for (var i = 0; i < count; i++)
            {
                _chars[written++] = _chars[i];
                if (_chars[i] == '"')
                {
                    i++;
                }
            }

            return _chars.AsSpan(0, written);
        }
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
    /// Types and stores one column as its rows arrive: numbers while every value is a number or missing; at the first
    /// value that is neither, category codes from that row on, and once all rows are in, the rows before it are read
    /// again (their fields only) so that categories keep their order of first appearance. A text column is usually
    /// known from its first row, so that second read is the exception, and it is bounded by one pass over the file.
    /// </summary>
    private sealed class ColumnBuilder(string name, int fileIndex, int capacity)
    {
        private double[]? _numbers;
        private int[]? _codes;
        private int _firstText = -1;
        private readonly List<string> _categories = [];
        private readonly Dictionary<string, int> _lookup = new(StringComparer.Ordinal);

        public int FileIndex => fileIndex;

        public void Add(Utf8CsvTokenizer tokenizer, Utf8Field field, int row, TextScratch scratch)
        {
            if (row == 0)
            {
                // A column that opens with text is text: it never needs an array of numbers.
                var first = tokenizer.Span(field);
                if (IsMissing(first, scratch, tokenizer, field) || TryParseNumber(first, scratch, tokenizer, field, out _))
                {
                    _numbers = new double[capacity];
                }
                else
                {
                    _codes = new int[capacity];
                }
            }

            if (_numbers is not null)
            {
                var bytes = tokenizer.Span(field);
                if (IsMissing(bytes, scratch, tokenizer, field))
                {
                    _numbers[row] = double.NaN;
                    return;
                }

                if (TryParseNumber(bytes, scratch, tokenizer, field, out _numbers[row]))
                {
                    return;
                }

                _numbers = null;
                _codes = new int[capacity];
                _firstText = row;
            }

            _codes![row] = Code(tokenizer, field, scratch);
        }

        private int Code(Utf8CsvTokenizer tokenizer, Utf8Field field, TextScratch scratch)
        {
            var value = scratch.Decode(tokenizer, field);
            if (!field.Quoted)
            {
                value = value.Trim();
            }

            if (IsMissing(value))
            {
                return -1;
            }

            var alternate = _lookup.GetAlternateLookup<ReadOnlySpan<char>>();
            if (!alternate.TryGetValue(value, out var code))
            {
                code = _categories.Count;
                _categories.Add(value.ToString());
                _lookup[_categories[^1]] = code;
            }

            return code;
        }

        public (ColumnInfo Info, ColumnStore Store) Build(Utf8CsvTokenizer tokenizer, int[] recordStarts, int rows, TextScratch scratch, string source)
        {
            if (_numbers is not null)
            {
                var numbers = _numbers.Length == rows ? _numbers : _numbers[..rows];
                _numbers = null;
                var missing = numbers.Count(double.IsNaN);
                return missing == rows
                    ? throw EntirelyEmpty(source)
                    : (new ColumnInfo(name, ColumnKind.Numeric, missing, []), new ColumnStore(numbers, null));
            }

            var codes = _codes!.Length == rows ? _codes : _codes[..rows];
            _codes = null;
            if (_firstText > 0)
            {
                // Code the earlier rows first, then renumber the later ones after them: order of first appearance.
                var later = _categories.ToArray();
                _categories.Clear();
                _lookup.Clear();
                var fields = new List<Utf8Field>();
                for (var r = 0; r < _firstText; r++)
                {
                    tokenizer.Seek(recordStarts[r]);
                    tokenizer.NextRecord(fields);
                    codes[r] = Code(tokenizer, fields[fileIndex], scratch);
                }

                var renumber = later.Select(c => _lookup.TryGetValue(c, out var known) ? known : Add(c)).ToArray();
                for (var r = _firstText; r < rows; r++)
                {
                    codes[r] = codes[r] < 0 ? -1 : renumber[codes[r]];
                }
            }

            return (new ColumnInfo(name, ColumnKind.Categorical, codes.Count(c => c < 0), [.. _categories]), new ColumnStore(null, codes));
        }

        private int Add(string category)
        {
            _lookup[category] = _categories.Count;
            _categories.Add(category);
            return _categories.Count - 1;
        }

        private DataFormatException EntirelyEmpty(string source) =>
            new($"{source}, column '{name}' (column {fileIndex + 1}): every value is missing. Remove the column or list it in Exclude.");
    }
}
