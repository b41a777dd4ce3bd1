using System.Buffers;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;

namespace Flotilla.Learning.Algorithms;

/// <summary>
/// Rows of a table as a model's input values — the form <see cref="LoadedModel.Predict(ReadOnlySpan{float})"/> takes:
/// a number, or a category's index in the schema's vocabulary (-1 for one it lacks), NaN when missing — read from the
/// table's own columns through an index of rows, never copied. A cross-validation fold is two of these over the one
/// training table, not two tables; a learner encodes the rows it reads as it reads them.
/// </summary>
internal sealed class FeatureRows
{
    private const int Chunk = 1024;

    private readonly Table _table;
    private readonly int[]? _rows;
    private readonly Reader[] _readers;

    /// <summary>Rows <paramref name="rows"/> of <paramref name="table"/>, in that order (every row when null), as <paramref name="schema"/>'s input.</summary>
    public FeatureRows(ModelSchema schema, Table table, int[]? rows)
    {
        Schema = schema;
        _table = table;
        _rows = rows;
        _readers = new Reader[schema.Features.Count];
        for (var f = 0; f < _readers.Length; f++)
        {
            _readers[f] = Reader.For(schema, f, table, IndexOf(table, schema.Features[f].Name));
        }
    }

    public ModelSchema Schema { get; }

    public Table Table => _table;

    public int Count => _rows?.Length ?? _table.RowCount;

    /// <summary>The table row the i-th row reads.</summary>
    public int TableRow(int i) => _rows is null ? i : _rows[i];

    public bool Label(int i) => _table.Label(TableRow(i));

    /// <summary>Feature <paramref name="feature"/> of the i-th row.</summary>
    public float Value(int i, int feature) => _readers[feature].Read(TableRow(i));

    /// <summary>Every feature of the i-th row, in schema order.</summary>
    public void Read(int i, Span<float> values)
    {
        var row = TableRow(i);
        for (var f = 0; f < _readers.Length; f++)
        {
            values[f] = _readers[f].Read(row);
        }
    }

    /// <summary>The i-th row encoded for the learners, missing values as <paramref name="missing"/> says.</summary>
    public void Encode(int i, Span<float> values, Span<float> encoded, MissingValues missing)
    {
        Read(i, values);
        Schema.Encode(values, encoded, missing);
    }

    /// <summary>The reader of one numeric feature when it reads a numeric column: its values by table row, NaN missing.</summary>
    public double[]? NumericColumn(int feature) => _readers[feature].Numbers;

    /// <summary>P(positive) of every row, encoded a chunk at a time (the rows are never held encoded all at once).</summary>
    public double[] Probabilities(Predictor predictor)
    {
        var width = Schema.EncodedWidth;
        var result = new double[Count];
        var encoded = ArrayPool<float>.Shared.Rent(Chunk * Math.Max(width, 1));
        var values = new float[Schema.Features.Count];
        try
        {
            for (var start = 0; start < result.Length; start += Chunk)
            {
                var end = Math.Min(result.Length, start + Chunk);
                for (var i = start; i < end; i++)
                {
                    Encode(i, values, encoded.AsSpan((i - start) * width, width), Schema.MissingValues);
                }

                predictor.Probabilities(encoded.AsSpan(0, (end - start) * width), width, result.AsSpan(start, end - start));
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(encoded);
        }

        return result;
    }

    private static int IndexOf(Table table, string name)
    {
        for (var c = 0; c < table.Columns.Count; c++)
        {
            if (table.Columns[c].Name == name)
            {
                return c;
            }
        }

        throw new DataFormatException(
            $"{table.Source}: the model needs column '{name}', which the table does not have. Columns: {string.Join(", ", table.Columns.Select(c => c.Name))}.");
    }

    /// <summary>
    /// How one feature is read from its column. A column of the feature's own type is read directly (numbers, or
    /// category codes through a code → vocabulary index map); a column typed otherwise in this table (a test file
    /// whose column held text where training held numbers, or the reverse) is translated value by value.
    /// </summary>
    private sealed class Reader
    {
        private readonly double[]? _numbers;
        private readonly int[]? _codes;
        private readonly float[]? _codeValues;
        private readonly ModelSchema? _schema;
        private readonly int _feature;

        private Reader(double[]? numbers, int[]? codes, float[]? codeValues, ModelSchema? schema, int feature)
        {
            _numbers = numbers;
            _codes = codes;
            _codeValues = codeValues;
            _schema = schema;
            _feature = feature;
        }

        /// <summary>The column's numbers when they are read as they are.</summary>
        public double[]? Numbers => _schema is null ? _numbers : null;

        public static Reader For(ModelSchema schema, int feature, Table table, int column)
        {
            var store = table.Store(column);
            var categories = table.Columns[column].Categories;
            if (schema.Features[feature].Kind == ColumnKind.Numeric)
            {
                if (store.Numbers is { } numbers)
                {
                    return new Reader(numbers, null, null, null, feature);
                }

                // Text where training had numbers: each category parsed once.
                var parsed = categories.Select(c => TableReader.TryParseNumber(c, out var n) ? (float)n : float.NaN).ToArray();
                return new Reader(null, store.Codes, parsed, null, feature);
            }

            if (store.Codes is { } codes)
            {
                var map = categories.Select(c => (float)schema.CategoryIndex(feature, c)).ToArray();
                return new Reader(null, codes, map, null, feature);
            }

            // Numbers where training had text: each number looked up as its text.
            return new Reader(store.Numbers, null, null, schema, feature);
        }

        public float Read(int row)
        {
            if (_codes is not null)
            {
                var code = _codes[row];
                return code < 0 ? float.NaN : _codeValues![code];
            }

            var number = _numbers![row];
            if (_schema is null || double.IsNaN(number))
            {
                return (float)number;
            }

            return _schema.CategoryIndex(_feature, number);
        }
    }
}
