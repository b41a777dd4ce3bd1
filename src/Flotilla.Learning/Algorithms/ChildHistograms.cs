namespace Flotilla.Learning.Algorithms;

/// <summary>What a tree builder gives <see cref="ChildHistograms{T}"/>: a histogram of every feature from rows, and one by subtraction.</summary>
internal interface IHistogramRows<T>
{
    /// <summary>Fills <paramref name="histogram"/> (cleared first) from the rows [start, end) of the node at <paramref name="depth"/>.</summary>
    void Read(int depth, int start, int end, T[] histogram);

    /// <summary>large = parent − small, bin by bin.</summary>
    void Subtract(T[] parent, T[] small, T[] large);
}

/// <summary>
/// The histograms of every feature a split node's children get, in the forest and in the booster alike: the smaller
/// child's read from its rows, the larger's as the parent's minus it, unless reading the larger child's rows costs less
/// than the subtraction (a histogram of every feature costs a row its features, a subtraction costs every bin). Two
/// buffers per depth, reused by every node at that depth: a child's histogram lives until its own children have theirs.
/// </summary>
internal sealed class ChildHistograms<T>
{
    private readonly List<(T[] Left, T[] Right)> _levels = [];

    /// <summary>
    /// The children's histograms of the node over [start, end) split at <paramref name="middle"/>, at
    /// <paramref name="depth"/>, whose histogram is <paramref name="parent"/> over <paramref name="bins"/> bins of
    /// <paramref name="features"/> features; a child not needed (a leaf, or too few rows for a histogram) gets null.
    /// </summary>
    public (T[]? Left, T[]? Right) For<TRows>(
        TRows rows, T[] parent, int start, int middle, int end, int depth, bool needLeft, bool needRight, int features, int bins)
        where TRows : IHistogramRows<T>
    {
        if (!needLeft && !needRight)
        {
            return (null, null);
        }

        while (_levels.Count <= depth + 1)
        {
            _levels.Add((new T[parent.Length], new T[parent.Length]));
        }

        var (leftBuffer, rightBuffer) = _levels[depth + 1];
        var leftSmaller = middle - start <= end - middle;
        var (small, large) = leftSmaller ? (leftBuffer, rightBuffer) : (rightBuffer, leftBuffer);
        var (smallStart, smallEnd, largeStart, largeEnd) = leftSmaller ? (start, middle, middle, end) : (middle, end, start, middle);
        var needSmall = leftSmaller ? needLeft : needRight;
        var needLarge = leftSmaller ? needRight : needLeft;
        if (needLarge && (long)(largeEnd - largeStart) * features < (long)(smallEnd - smallStart) * features + bins)
        {
            rows.Read(depth + 1, largeStart, largeEnd, large);
            if (needSmall)
            {
                rows.Read(depth + 1, smallStart, smallEnd, small);
            }
        }
        else
        {
            rows.Read(depth + 1, smallStart, smallEnd, small);
            if (needLarge)
            {
                rows.Subtract(parent, small, large);
            }
        }

        return leftSmaller
            ? (needSmall ? small : null, needLarge ? large : null)
            : (needLarge ? large : null, needSmall ? small : null);
    }
}
