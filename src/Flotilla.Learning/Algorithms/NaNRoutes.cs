using Flotilla.Learning.Artifacts;

namespace Flotilla.Learning.Algorithms;

/// <summary>
/// Which way a node of an extracted ML.NET tree sends a missing value (NaN), given the slot it tests and its threshold.
/// Where the training rows had missing values in that slot and the engine saw them (LightGBM), the direction the engine
/// learned; anywhere else, the way the schema's imputation value goes (the training mean, or 1 in the most frequent
/// category's slot and 0 in the others), which is exactly what imputing before the trees would do.
/// </summary>
internal sealed class NaNRoutes
{
    private readonly float[] _imputed;
    private readonly bool[]? _learned;

    private NaNRoutes(float[] imputed, bool[]? learned)
    {
        _imputed = imputed;
        _learned = learned;
    }

    /// <summary>Routes for trees trained on imputed rows (FastTree, FastForest).</summary>
    public static NaNRoutes Imputed(ModelSchema schema) => new(schema.ImputedSlots(), null);

    /// <summary>Routes for trees trained on <paramref name="data"/> with missing values passed through (LightGBM).</summary>
    public static NaNRoutes Learned(EncodedData data) => new(data.Schema.ImputedSlots(), data.Statistics.HasMissing);

    /// <summary>Whether <see cref="Route"/> reads the engine's own value for a missing one.</summary>
    public bool NeedsDefaults => _learned is not null;

    /// <summary>
    /// The route of a node on <paramref name="slot"/> with <paramref name="threshold"/>; <paramref name="engineDefault"/>
    /// is what the engine replaces a NaN by at that node (LightGBM through ML.NET: the threshold to go left, above it to go right).
    /// </summary>
    public int Route(int slot, float threshold, float engineDefault)
    {
        var value = _learned is not null && _learned[slot] ? engineDefault : _imputed[slot];
        return value <= threshold ? TreeEnsemblePredictor.NaNLeft : TreeEnsemblePredictor.NaNRight;
    }
}
