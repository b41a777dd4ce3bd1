using Flotilla.Learning.Data;

namespace Flotilla.Learning.Algorithms;

/// <summary>
/// A training set's rows in <see cref="ViewEncoding.Scaled"/> form, encoded once into compressed sparse rows: L-BFGS
/// reads every row once per evaluation (15 times at its defaults on 640,000 rows), and these hold them in 8 bytes a
/// non-zero slot, counted first so that nothing grows and copies (ML.NET's own cache of the same view held about 330
/// bytes a row of the 1M-row scaling table, and its growth showed at the pipeline's peak: bench/README.md).
/// </summary>
internal sealed class ScaledRows
{
    private readonly int[] _starts;
    private readonly int[] _slots;
    private readonly float[] _values;

    private ScaledRows(int[] starts, int[] slots, float[] values) => (_starts, _slots, _values) = (starts, slots, values);

    /// <summary>
    /// The rows encoded, or null when their non-zero slots outnumber what one array can hold (the view then encodes each
    /// row as it reads it).
    /// </summary>
    public static ScaledRows? TryEncode(EncodedData data)
    {
        var values = new float[data.Schema.Features.Count];
        var slots = new int[data.Width];
        var scaled = new float[data.Width];
        var starts = new int[data.Rows + 1];
        long total = 0;
        for (var i = 0; i < data.Rows; i++)
        {
            total += Write(data, i, values, slots, scaled);
            if (total > Array.MaxLength)
            {
                return null;
            }
            starts[i + 1] = (int)total;
        }

        var rows = new ScaledRows(starts, new int[total], new float[total]);
        for (var i = 0; i < data.Rows; i++)
        {
            Write(data, i, values, rows._slots.AsSpan(starts[i]), rows._values.AsSpan(starts[i]));
        }
        return rows;
    }

    /// <summary>Row i's non-zero slots, ascending.</summary>
    public ReadOnlySpan<int> Slots(int i) => _slots.AsSpan(_starts[i], _starts[i + 1] - _starts[i]);

    /// <summary>Row i's values at <see cref="Slots"/>.</summary>
    public ReadOnlySpan<float> Values(int i) => _values.AsSpan(_starts[i], _starts[i + 1] - _starts[i]);

    /// <summary>
    /// Writes row i's non-zero slots of x / sd, a missing slot at mean / sd (the standardized row plus mean / sd), straight
    /// from the row's values: a number is one slot, a category one slot, a missing category its slots' means. Returns
    /// how many it wrote; <paramref name="values"/> is scratch of one float per feature.
    /// </summary>
    public static int Write(EncodedData data, int i, Span<float> values, Span<int> slots, Span<float> scaled)
    {
        var schema = data.Schema;
        var offsets = schema.Offsets;
        var mean = data.Standardizer.Mean;
        var inverse = data.Standardizer.InverseScale;
        data.View.Read(i, values);
        var count = 0;
        for (var f = 0; f < values.Length; f++)
        {
            var v = values[f];
            var slot = offsets[f];
            if (schema.Features[f].Kind == ColumnKind.Numeric)
            {
                var x = float.IsNaN(v) ? mean[slot] : v;
                if (x != 0)
                {
                    slots[count] = slot;
                    scaled[count++] = x * inverse[slot];
                }
            }
            else if (float.IsNaN(v))
            {
                for (var j = slot; j < offsets[f + 1]; j++)
                {
                    if (mean[j] != 0)
                    {
                        slots[count] = j;
                        scaled[count++] = mean[j] * inverse[j];
                    }
                }
            }
            else if (v >= 0 && v < offsets[f + 1] - slot)
            {
                slots[count] = slot + (int)v;
                scaled[count++] = inverse[slot + (int)v];
            }
        }

        return count;
    }
}
