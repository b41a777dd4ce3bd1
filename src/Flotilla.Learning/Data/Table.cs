using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Flotilla.Learning.Data;

/// <summary>
/// A labelled table read from a CSV: feature columns typed at run time (numeric or categorical, with missing
/// values) and a binary label. Immutable; <see cref="Split"/> and <see cref="Subset"/> make new tables that
/// share the column vocabularies of their parent.
/// </summary>
public sealed class Table
{
    private readonly ColumnStore[] _store;
    private readonly bool[] _labels;
    private readonly Lazy<string> _sha256;

    internal Table(
        string source,
        string labelName,
        int labelPosition,
        LabelMapping labelMapping,
        IReadOnlyList<ColumnInfo> columns,
        ColumnStore[] store,
        bool[] labels,
        string? sha256)
    {
        Source = source;
        LabelName = labelName;
        LabelPosition = labelPosition;
        LabelMapping = labelMapping;
        Columns = columns;
        _store = store;
        _labels = labels;
        PositiveCount = labels.Count(l => l);
        _sha256 = sha256 is null ? new Lazy<string>(HashOfCsv) : new Lazy<string>(sha256);
    }

    /// <summary>The file (or stream name) the table came from, used in messages.</summary>
    public string Source { get; }

    public string LabelName { get; }

    /// <summary>Where the label column sits among the written columns (0 = first), to write it back in place.</summary>
    public int LabelPosition { get; }

    public LabelMapping LabelMapping { get; }

    /// <summary>Feature columns in file order (label and excluded columns left out).</summary>
    public IReadOnlyList<ColumnInfo> Columns { get; }

    public int RowCount => _labels.Length;

    public int PositiveCount { get; }

    public int NegativeCount => RowCount - PositiveCount;

    /// <summary>SHA-256 (lowercase hex) of the source bytes; for a split, of the CSV that <see cref="WriteCsv(Stream)"/> writes.</summary>
    public string Sha256 => _sha256.Value;

    public bool Label(int row) => _labels[row];

    internal ReadOnlySpan<bool> Labels => _labels;

    internal ColumnStore Store(int column) => _store[column];

    /// <summary>The value of a numeric column; NaN when missing.</summary>
    public double Number(int column, int row) =>
        _store[column].Numbers is { } numbers
            ? numbers[row]
            : throw new InvalidOperationException($"Column '{Columns[column].Name}' is categorical, not numeric.");

    /// <summary>The value of a categorical column; null when missing.</summary>
    public string? Category(int column, int row)
    {
        var codes = _store[column].Codes
            ?? throw new InvalidOperationException($"Column '{Columns[column].Name}' is numeric, not categorical.");
        return codes[row] < 0 ? null : Columns[column].Categories[codes[row]];
    }

    public bool IsMissing(int column, int row) =>
        _store[column].Numbers is { } numbers ? double.IsNaN(numbers[row]) : _store[column].Codes![row] < 0;

    /// <summary>The rows at <paramref name="rows"/>, in that order.</summary>
    public Table Subset(IReadOnlyList<int> rows)
    {
        var store = new ColumnStore[_store.Length];
        var columns = new ColumnInfo[_store.Length];
        for (var c = 0; c < _store.Length; c++)
        {
            store[c] = _store[c].Subset(rows);
            columns[c] = Columns[c] with { MissingCount = store[c].CountMissing() };
        }

        var labels = new bool[rows.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            labels[i] = _labels[rows[i]];
        }

        return new Table(Source, LabelName, LabelPosition, LabelMapping, columns, store, labels, null);
    }

    /// <summary>
    /// Splits into train and test. The same seed gives the same split bit for bit. Stratified keeps the label
    /// balance in both parts (scikit-learn's rounding: the test part gets round(testSize × n) rows).
    /// </summary>
    public (Table Train, Table Test) Split(double testSize, bool stratify, int seed)
    {
        var (train, test) = SplitRows(testSize, stratify, seed);
        return (Subset(train), Subset(test));
    }

    /// <summary>The rows of <see cref="Split"/>'s two parts, in file order, without copying them into tables.</summary>
    public (int[] Train, int[] Test) SplitRows(double testSize, bool stratify, int seed)
    {
        if (testSize is <= 0 or >= 1 || double.IsNaN(testSize))
        {
            throw new ArgumentOutOfRangeException(nameof(testSize), testSize, "The test size must be between 0 and 1 (exclusive), e.g. 0.2.");
        }

        var testCount = (int)Math.Ceiling(testSize * RowCount);
        if (testCount < 1 || testCount >= RowCount)
        {
            throw new ArgumentOutOfRangeException(nameof(testSize), testSize,
                $"A test size of {testSize.ToString(CultureInfo.InvariantCulture)} leaves no rows for train or test out of {RowCount}.");
        }

        var random = new Random(seed);
        var test = new List<int>(testCount);
        var train = new List<int>(RowCount - testCount);
        if (stratify)
        {
            var positives = Enumerable.Range(0, RowCount).Where(r => _labels[r]).ToArray();
            var negatives = Enumerable.Range(0, RowCount).Where(r => !_labels[r]).ToArray();
            random.Shuffle(positives);
            random.Shuffle(negatives);
            var positiveTest = (int)Math.Round(testCount * (double)positives.Length / RowCount, MidpointRounding.ToEven);
            positiveTest = Math.Clamp(positiveTest, positives.Length > 1 ? 1 : 0, Math.Max(0, positives.Length - 1));
            var negativeTest = Math.Clamp(testCount - positiveTest, negatives.Length > 1 ? 1 : 0, Math.Max(0, negatives.Length - 1));
            test.AddRange(positives[..positiveTest]);
            test.AddRange(negatives[..negativeTest]);
            train.AddRange(positives[positiveTest..]);
            train.AddRange(negatives[negativeTest..]);
        }
        else
        {
            var all = Enumerable.Range(0, RowCount).ToArray();
            random.Shuffle(all);
            test.AddRange(all[..testCount]);
            train.AddRange(all[testCount..]);
        }

        // Keep file order inside each part: easier to read, and independent of the shuffle's internals.
        train.Sort();
        test.Sort();
        return ([.. train], [.. test]);
    }

    /// <summary>Writes header and rows, the label column in its place with its original values.</summary>
    public void WriteCsv(string path) => WriteCsv(path, null);

    /// <summary>
    /// Writes the header and rows <paramref name="rows"/> (every row when null), in that order: the CSV that
    /// <c>Subset(rows).WriteCsv(path)</c> writes, without the copy.
    /// </summary>
    public void WriteCsv(string path, IReadOnlyList<int>? rows)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        WriteCsv(stream, rows);
    }

    /// <summary>Writes the CSV (UTF-8 without BOM, LF line ends) to a stream, leaving it open.</summary>
    public void WriteCsv(Stream stream) => WriteCsv(stream, null);

    private void WriteCsv(Stream stream, IReadOnlyList<int>? rows)
    {
        using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
        var names = Columns.Select(c => c.Name).ToList();
        names.Insert(LabelPosition, LabelName);
        for (var i = 0; i < names.Count; i++)
        {
            if (i > 0)
            {
                writer.Write(',');
            }

            CsvTokenizer.WriteField(writer, names[i], ',');
        }

        writer.Write('\n');
        Span<char> number = stackalloc char[32];
        var count = rows?.Count ?? RowCount;
        for (var i = 0; i < count; i++)
        {
            var r = rows is null ? i : rows[i];
            for (var position = 0; position <= Columns.Count; position++)
            {
                if (position > 0)
                {
                    writer.Write(',');
                }

                if (position == LabelPosition)
                {
                    CsvTokenizer.WriteField(writer, LabelMapping[_labels[r]], ',');
                    continue;
                }

                var c = position < LabelPosition ? position : position - 1;
                var store = _store[c];
                if (store.Numbers is { } numbers)
                {
                    if (!double.IsNaN(numbers[r]) && numbers[r].TryFormat(number, out var length, "R", CultureInfo.InvariantCulture))
                    {
                        writer.Write(number[..length]);
                    }
                }
                else if (store.Codes![r] >= 0)
                {
                    CsvTokenizer.WriteField(writer, Columns[c].Categories[store.Codes[r]], ',');
                }
            }

            writer.Write('\n');
        }
    }

    private string HashOfCsv()
    {
        using var memory = new MemoryStream();
        WriteCsv(memory);
        return Convert.ToHexStringLower(SHA256.HashData(memory.GetBuffer().AsSpan(0, (int)memory.Length)));
    }
}

/// <summary>Column values: numbers (NaN = missing) or category codes (-1 = missing).</summary>
internal sealed record ColumnStore(double[]? Numbers, int[]? Codes)
{
    public ColumnStore Subset(IReadOnlyList<int> rows)
    {
        if (Numbers is not null)
        {
            var numbers = new double[rows.Count];
            for (var i = 0; i < numbers.Length; i++)
            {
                numbers[i] = Numbers[rows[i]];
            }

            return new ColumnStore(numbers, null);
        }

        var codes = new int[rows.Count];
        for (var i = 0; i < codes.Length; i++)
        {
            codes[i] = Codes![rows[i]];
        }

        return new ColumnStore(null, codes);
    }

    public int CountMissing() =>
        Numbers is not null ? Numbers.Count(double.IsNaN) : Codes!.Count(c => c < 0);
}
