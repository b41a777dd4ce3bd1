namespace Flotilla.Learning.Algorithms;

/// <summary>
/// An append-only list kept in fixed chunks, copied once into an exact array at the end. A deep forest at a million
/// rows has tens of millions of nodes: a doubling list re-allocates and copies its whole content each time it grows,
/// so growing into it allocated about four times what the finished model holds; chunks allocate it about twice.
/// </summary>
internal sealed class ChunkedList<T>
{
    private const int Shift = 16;
    private const int ChunkSize = 1 << Shift;

    private readonly List<T[]> _chunks = [];

    public int Count { get; private set; }

    public ref T this[int index] => ref _chunks[index >> Shift][index & (ChunkSize - 1)];

    /// <summary>Appends <paramref name="item"/> and returns its index.</summary>
    public int Add(T item)
    {
        if ((Count & (ChunkSize - 1)) == 0 && Count >> Shift == _chunks.Count)
        {
            _chunks.Add(new T[ChunkSize]);
        }

        this[Count] = item;
        return Count++;
    }

    public T[] ToArray()
    {
        var result = new T[Count];
        for (var c = 0; c < _chunks.Count; c++)
        {
            var start = c << Shift;
            _chunks[c].AsSpan(0, Math.Min(ChunkSize, Count - start)).CopyTo(result.AsSpan(start));
        }

        return result;
    }
}
