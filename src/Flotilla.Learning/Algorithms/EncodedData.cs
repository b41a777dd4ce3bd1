using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;
using Microsoft.ML;

namespace Flotilla.Learning.Algorithms;

/// <summary>
/// A training set as the learners see it: the schema learned from its rows, the rows themselves as a
/// <see cref="FeatureRows"/> view of the table (no copy), the labels, and what several fits share, built on first use:
/// each encoded slot's statistics (hence the <see cref="Standardizer"/>) and the forest's bins. Nothing here holds the
/// rows encoded: a learner encodes them as it reads them, through <see cref="Encode"/>, <see cref="EncodeStandardized"/>
/// or an ML.NET view (<see cref="DataView"/>; the scaled one keeps its rows encoded for the fit's length). One instance
/// per CV fold lives as long as the tuner's <c>PreparedFolds</c>; it is thread-safe.
/// <para>
/// Each family reads the view it can use: the trees that handle missing values (our forest, LightGBM) see NaN
/// (<see cref="MissingValues.Native"/>); the others see imputed rows — the standardized families a missing value at its
/// training mean (z = 0), ML.NET's FastTree and FastForest engines the schema's imputation.
/// </para>
/// </summary>
internal sealed class EncodedData
{
    private readonly Lazy<SlotStatistics> _statistics;
    private readonly Lazy<StandardizedEncoder> _standardized;
    private readonly Lazy<ForestFeatures> _forest;

    public EncodedData(FeatureRows rows)
    {
        View = rows;
        Schema = rows.Schema;
        Width = Schema.EncodedWidth;
        Y = new bool[rows.Count];
        for (var i = 0; i < Y.Length; i++)
        {
            Y[i] = rows.Label(i);
            Positives += Y[i] ? 1 : 0;
        }

        _statistics = new(() => SlotStatistics.Compute(this));
        _standardized = new(() => new StandardizedEncoder(Schema, Standardizer));
        _forest = new(() => ForestFeatures.Build(this));
    }

    /// <summary>Every row of <paramref name="table"/>, its schema learned from all of them.</summary>
    public static EncodedData From(Table table) => From(table, null);

    /// <summary>Rows <paramref name="rows"/> of <paramref name="table"/> (all when null), the schema learned from those rows only.</summary>
    public static EncodedData From(Table table, int[]? rows) => new(new FeatureRows(ModelSchema.FromRows(table, rows), table, rows));

    public ModelSchema Schema { get; }

    public FeatureRows View { get; }

    /// <summary>Labels in row order.</summary>
    public bool[] Y { get; }

    public int Width { get; }

    public int Rows => Y.Length;

    public int Positives { get; }

    /// <summary>Per encoded slot: mean of its present values, standard deviation with missing ones at the mean, whether any was missing.</summary>
    public SlotStatistics Statistics => _statistics.Value;

    public Standardizer Standardizer => Statistics.Standardizer;

    /// <summary>Encodes input values straight into standardized slots (what <see cref="EncodeStandardized"/> does to row i).</summary>
    public StandardizedEncoder StandardizedEncoder => _standardized.Value;

    /// <summary>Features cut into bins for the random forest's split search, one per input column.</summary>
    public ForestFeatures Forest => _forest.Value;

    /// <summary>Row i encoded (<paramref name="values"/> is scratch of one float per feature).</summary>
    public void Encode(int i, Span<float> values, Span<float> encoded, MissingValues missing) => View.Encode(i, values, encoded, missing);

    /// <summary>Row i encoded and standardized, a missing value at its training mean (z = 0), as the standardized families' predictors read it.</summary>
    public void EncodeStandardized(int i, Span<float> values, Span<float> z)
    {
        View.Read(i, values);
        StandardizedEncoder.Encode(values, z);
    }

    /// <summary>An ML.NET view of the rows, as <see cref="EncodedDataView"/> presents them.</summary>
    public IDataView DataView(ViewEncoding encoding, bool balanced) => new EncodedDataView(this, encoding, balanced);

    /// <summary>scikit-learn's class_weight='balanced': n / (2 × count of the class), for (negative, positive).</summary>
    public (float Negative, float Positive) BalancedWeights() =>
        (Rows / (2f * Math.Max(Rows - Positives, 1)), Rows / (2f * Math.Max(Positives, 1)));

    /// <summary>Every row's input values, row-major (rows × features): a compact copy for a learner that reads rows in random order.</summary>
    public float[] Values()
    {
        var features = Schema.Features.Count;
        var values = new float[Rows * features];
        for (var i = 0; i < Rows; i++)
        {
            View.Read(i, values.AsSpan(i * features, features));
        }

        return values;
    }
}

/// <summary>Statistics of each encoded slot of a training set, from one pass for the means and one for the spread.</summary>
internal sealed record SlotStatistics(double[] Mean, double[] Variance, bool[] HasMissing)
{
    public Standardizer Standardizer { get; } = Standardizer.From(Mean, Variance);

    public static SlotStatistics Compute(EncodedData data)
    {
        var width = data.Width;
        var sum = new double[width];
        var present = new long[width];
        var values = new float[data.Schema.Features.Count];
        var encoded = new float[width];
        for (var i = 0; i < data.Rows; i++)
        {
            data.Encode(i, values, encoded, MissingValues.Native);
            for (var j = 0; j < width; j++)
            {
                if (!float.IsNaN(encoded[j]))
                {
                    sum[j] += encoded[j];
                    present[j]++;
                }
            }
        }

        var mean = new double[width];
        var hasMissing = new bool[width];
        for (var j = 0; j < width; j++)
        {
            mean[j] = present[j] == 0 ? 0 : sum[j] / present[j];
            hasMissing[j] = present[j] < data.Rows;
        }

        // A missing value sits at the mean (what the standardized families read it as), so it adds nothing here.
        var squares = new double[width];
        for (var i = 0; i < data.Rows; i++)
        {
            data.Encode(i, values, encoded, MissingValues.Native);
            for (var j = 0; j < width; j++)
            {
                if (!float.IsNaN(encoded[j]))
                {
                    var d = encoded[j] - mean[j];
                    squares[j] += d * d;
                }
            }
        }

        var variance = new double[width];
        for (var j = 0; j < width; j++)
        {
            variance[j] = squares[j] / Math.Max(data.Rows, 1);
        }

        return new SlotStatistics(mean, variance, hasMissing);
    }
}

/// <summary>
/// Encodes a row's input values directly into standardized slots — the numbers <see cref="ModelSchema.Encode(ReadOnlySpan{float}, Span{float})"/>
/// followed by <see cref="Standardizer.Apply"/> give, bit for bit — without the dense passes: a row starts as the
/// standardized zero of every slot, then each feature writes its own slot or, for a category, the one slot it sets.
/// The training loops of the standardized families encode every row of every epoch through this.
/// </summary>
internal sealed class StandardizedEncoder
{
    private readonly ModelSchema _schema;
    private readonly int[] _offsets;
    private readonly bool[] _numeric;
    private readonly float[] _mean;
    private readonly float[] _inverse;
    private readonly float[] _zero;
    private readonly float[] _one;

    public StandardizedEncoder(ModelSchema schema, Standardizer standardizer)
    {
        _schema = schema;
        _offsets = schema.Offsets;
        _numeric = [.. schema.Features.Select(f => f.Kind == ColumnKind.Numeric)];
        _mean = standardizer.Mean;
        _inverse = standardizer.InverseScale;
        _zero = new float[_mean.Length];
        _one = new float[_mean.Length];
        for (var j = 0; j < _mean.Length; j++)
        {
            _zero[j] = (0f - _mean[j]) * _inverse[j];
            _one[j] = (1f - _mean[j]) * _inverse[j];
        }
    }

    public void Encode(ReadOnlySpan<float> values, Span<float> z)
    {
        _zero.CopyTo(z);
        for (var f = 0; f < values.Length; f++)
        {
            var v = values[f];
            var slot = _offsets[f];
            if (_numeric[f])
            {
                z[slot] = float.IsNaN(v) ? 0 : (v - _mean[slot]) * _inverse[slot];
            }
            else if (float.IsNaN(v))
            {
                z[slot.._offsets[f + 1]].Clear();
            }
            else if (v >= 0 && v < _offsets[f + 1] - slot)
            {
                z[slot + (int)v] = _one[slot + (int)v];
            }
        }
    }
}
