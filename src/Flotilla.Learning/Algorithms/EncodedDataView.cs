using Flotilla.Learning.Artifacts;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Flotilla.Learning.Algorithms;

/// <summary>How an <see cref="EncodedDataView"/> presents a row's encoded vector.</summary>
internal enum ViewEncoding
{
    /// <summary>Missing values as NaN, for a learner that routes them (LightGBM).</summary>
    Native,

    /// <summary>Missing values replaced by the schema's imputation (FastTree, FastForest).</summary>
    Imputed,

    /// <summary>
    /// Each slot divided by its standard deviation but not centred, as a sparse vector (a one-hot slot that is 0 stays
    /// 0), a missing value at its mean. For logistic regression: its penalty leaves the bias alone, so fitting on these
    /// and moving the bias by w·(mean / sd) afterwards is the same fit as on standardized rows, at a fraction of the
    /// work per row (the numbers and one slot per text column instead of every slot).
    /// </summary>
    Scaled,
}

/// <summary>
/// An ML.NET view of a training set: Features (the encoded vector, see <see cref="ViewEncoding"/>), Label and Weight (1,
/// or scikit-learn's balanced class weight). The native and imputed rows are encoded as a cursor reaches them, so a fit
/// costs ML.NET's own working set and not a copy of the rows per family and fold: LightGBM and FastTree read the rows
/// into binned datasets of their own. The scaled rows are encoded once, at the view's creation (<see cref="ScaledRows"/>):
/// L-BFGS reads them once per evaluation.
/// </summary>
internal sealed class EncodedDataView : IDataView
{
    private readonly EncodedData _data;
    private readonly ViewEncoding _encoding;
    private readonly (float Negative, float Positive) _weights;
    private readonly ScaledRows? _scaled;

    public EncodedDataView(EncodedData data, ViewEncoding encoding, bool balanced)
    {
        _data = data;
        _encoding = encoding;
        _weights = balanced ? data.BalancedWeights() : (1f, 1f);
        _scaled = encoding == ViewEncoding.Scaled ? ScaledRows.TryEncode(data) : null;
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(MlNet.Features, new VectorDataViewType(NumberDataViewType.Single, data.Width));
        builder.AddColumn(MlNet.Label, BooleanDataViewType.Instance);
        builder.AddColumn(MlNet.Weight, NumberDataViewType.Single);
        Schema = builder.ToSchema();
    }

    public DataViewSchema Schema { get; }

    public bool CanShuffle => false;

    public long? GetRowCount() => _data.Rows;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, [.. columnsNeeded.Select(c => c.Index)]);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly EncodedDataView _parent;
        private readonly bool[] _active;
        private readonly float[] _values;
        private readonly float[] _encoded;
        private readonly int[] _indices;
        private long _position = -1;

        public Cursor(EncodedDataView parent, int[] active)
        {
            _parent = parent;
            _active = new bool[parent.Schema.Count];
            foreach (var index in active)
            {
                _active[index] = true;
            }

            _values = new float[parent._data.Schema.Features.Count];
            _encoded = new float[parent._data.Width];
            _indices = new int[parent._data.Width];
        }

        public override DataViewSchema Schema => _parent.Schema;

        public override long Position => _position;

        public override long Batch => 0;

        public override bool MoveNext() => ++_position < _parent._data.Rows;

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            var data = _parent._data;
            Delegate getter = column.Index switch
            {
                0 => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) =>
                {
                    if (_parent._encoding == ViewEncoding.Scaled)
                    {
                        Scaled(ref value);
                        return;
                    }

                    var editor = VBufferEditor.Create(ref value, data.Width);
                    data.Encode((int)_position, _values, editor.Values, _parent._encoding == ViewEncoding.Native ? MissingValues.Native : MissingValues.Impute);
                    value = editor.Commit();
                }),
                1 => (ValueGetter<bool>)((ref bool value) => value = data.Y[_position]),
                2 => (ValueGetter<float>)((ref float value) => value = data.Y[_position] ? _parent._weights.Positive : _parent._weights.Negative),
                _ => throw new ArgumentOutOfRangeException(nameof(column), column.Index, "The view has three columns."),
            };
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' is not of type {typeof(TValue).Name}.");
        }

        private void Scaled(ref VBuffer<float> value)
        {
            var row = (int)_position;
            if (_parent._scaled is { } rows)
            {
                Write(ref value, rows.Slots(row), rows.Values(row));
                return;
            }

            var count = ScaledRows.Write(_parent._data, row, _values, _indices, _encoded);
            Write(ref value, _indices.AsSpan(0, count), _encoded.AsSpan(0, count));
        }

        private void Write(ref VBuffer<float> value, ReadOnlySpan<int> slots, ReadOnlySpan<float> scaled)
        {
            var editor = VBufferEditor.Create(ref value, _parent._data.Width, slots.Length, requireIndicesOnDense: true);
            scaled.CopyTo(editor.Values);
            slots.CopyTo(editor.Indices);
            value = editor.Commit();
        }
    }
}
