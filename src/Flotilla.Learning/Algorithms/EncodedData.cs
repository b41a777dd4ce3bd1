using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;
using Microsoft.ML;

namespace Flotilla.Learning.Algorithms;

/// <summary>
/// A training set as the learners see it: the schema learned from it, a row-major float matrix and the
/// labels, plus lazily built views that several fits share (standardized copy, ML.NET data views). One
/// instance per CV fold lives as long as the tuner's <c>PreparedFolds</c>.
/// </summary>
internal sealed class EncodedData
{
    private readonly Lazy<(Standardizer Standardizer, float[] Z)> _standardized;
    private readonly Lazy<IDataView> _dataView;
    private readonly Lazy<IDataView> _balancedDataView;
    private readonly Lazy<IDataView> _standardizedDataView;
    private readonly Lazy<IDataView> _standardizedBalancedDataView;
    private readonly Lazy<ForestFeatures> _forest;

    public EncodedData(ModelSchema schema, float[] x, bool[] y)
    {
        Schema = schema;
        X = x;
        Y = y;
        Width = schema.EncodedWidth;
        Positives = y.Count(v => v);
        _standardized = new(() =>
        {
            var standardizer = Standardizer.Fit(X, Width);
            return (standardizer, standardizer.ApplyAll(X, Width));
        });
        _dataView = new(() => MlNet.ToDataView(X, Y, Width, null));
        _balancedDataView = new(() => MlNet.ToDataView(X, Y, Width, BalancedWeights()));
        _standardizedDataView = new(() => MlNet.ToDataView(Z, Y, Width, null));
        _standardizedBalancedDataView = new(() => MlNet.ToDataView(Z, Y, Width, BalancedWeights()));
        _forest = new(() => ForestFeatures.Build(Schema, X, Rows, Width));
    }

    public static EncodedData From(Table table)
    {
        var schema = ModelSchema.FromTable(table);
        return new EncodedData(schema, schema.EncodeTable(table), table.Labels.ToArray());
    }

    public ModelSchema Schema { get; }

    public float[] X { get; }

    public bool[] Y { get; }

    public int Width { get; }

    public int Rows => Y.Length;

    public int Positives { get; }

    public Standardizer Standardizer => _standardized.Value.Standardizer;

    /// <summary>X standardized with <see cref="Standardizer"/>.</summary>
    public float[] Z => _standardized.Value.Z;

    public IDataView DataView(bool balanced) => balanced ? _balancedDataView.Value : _dataView.Value;

    /// <summary>The ML.NET view of <see cref="Z"/>.</summary>
    public IDataView StandardizedDataView(bool balanced) => balanced ? _standardizedBalancedDataView.Value : _standardizedDataView.Value;

    /// <summary>Features cut into bins for the random forest's split search, one per input column.</summary>
    public ForestFeatures Forest => _forest.Value;

    /// <summary>scikit-learn's class_weight='balanced': n / (2 × count of the row's class).</summary>
    public float[] BalancedWeights()
    {
        var positive = Rows / (2f * Math.Max(Positives, 1));
        var negative = Rows / (2f * Math.Max(Rows - Positives, 1));
        return Y.Select(v => v ? positive : negative).ToArray();
    }
}
