using Microsoft.Extensions.Options;

namespace Flotilla.Fleet.Models;

/// <summary>
/// The memory budget of one silo: which models it holds, how many bytes they take, and which one was used
/// least recently. Admitting a model evicts least recently used ones until it fits.
/// </summary>
/// <remarks>
/// Recency is a global counter stamped on every use, so the hot path is one interlocked increment and no
/// lock; the O(n) search for the oldest stamp only runs on a load, which costs milliseconds anyway.
/// </remarks>
public sealed class ModelBudget(IOptions<FleetOptions> options)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private long _clock;
    private long _bytesInUse;

    public long CapacityBytes { get; } = options.Value.MemoryBudgetBytes;

    public long BytesInUse => Volatile.Read(ref _bytesInUse);

    public int Count
    {
        get { lock (_lock) { return _entries.Count; } }
    }

    /// <summary>
    /// Makes room for a model of <paramref name="bytes"/> and records it as most recently used.
    /// <paramref name="evict"/> is called (outside the lock) if the model is later chosen as a victim.
    /// Returns the handle its holder stamps on every use, and the models evicted to make room.
    /// </summary>
    /// <exception cref="ModelTooLargeException">The model alone exceeds the whole budget.</exception>
    public (Entry Entry, IReadOnlyList<string> Evicted) Admit(string artifactSha256, long bytes, Action evict)
    {
        if (bytes > CapacityBytes)
        {
            throw new ModelTooLargeException(artifactSha256, bytes, CapacityBytes);
        }

        List<Entry>? victims = null;
        Entry entry;
        lock (_lock)
        {
            if (_entries.Remove(artifactSha256, out var previous))
            {
                _bytesInUse -= previous.Bytes;
            }

            while (_bytesInUse + bytes > CapacityBytes && _entries.Count > 0)
            {
                var oldest = _entries.Values.MinBy(e => Volatile.Read(ref e.LastUse))!;
                _entries.Remove(oldest.ArtifactSha256);
                _bytesInUse -= oldest.Bytes;
                (victims ??= []).Add(oldest);
            }

            entry = new Entry(artifactSha256, bytes, evict) { LastUse = Interlocked.Increment(ref _clock) };
            _entries.Add(artifactSha256, entry);
            _bytesInUse += bytes;
        }

        if (victims is null)
        {
            return (entry, []);
        }

        foreach (var victim in victims)
        {
            victim.Evict();
        }
        return (entry, victims.ConvertAll(v => v.ArtifactSha256));
    }

    /// <summary>Marks a model as just used.</summary>
    public void Touch(Entry entry) => Volatile.Write(ref entry.LastUse, Interlocked.Increment(ref _clock));

    /// <summary>Forgets a model whose activation is going away (evicted, idle or shut down).</summary>
    public void Release(Entry entry)
    {
        lock (_lock)
        {
            // Only the entry itself: a re-activation of the same model may already hold a newer one.
            if (_entries.TryGetValue(entry.ArtifactSha256, out var current) && ReferenceEquals(current, entry))
            {
                _entries.Remove(entry.ArtifactSha256);
                _bytesInUse -= entry.Bytes;
            }
        }
    }

    /// <summary>The models held, most recently used first.</summary>
    public IReadOnlyList<(string ArtifactSha256, long Bytes)> Snapshot()
    {
        lock (_lock)
        {
            return [.. _entries.Values.OrderByDescending(e => Volatile.Read(ref e.LastUse)).Select(e => (e.ArtifactSha256, e.Bytes))];
        }
    }

    public sealed class Entry(string artifactSha256, long bytes, Action evict)
    {
        internal long LastUse;

        public string ArtifactSha256 { get; } = artifactSha256;

        public long Bytes { get; } = bytes;

        internal void Evict() => evict();
    }
}

/// <summary>A model that does not fit in the silo's whole memory budget, even with every other model evicted.</summary>
public sealed class ModelTooLargeException(string artifactSha256, long bytes, long capacity)
    : Exception($"Model {artifactSha256} needs {bytes:N0} bytes but the memory budget of a silo is {capacity:N0} bytes; " +
                $"raise Flotilla:Fleet:MemoryBudgetBytes or deploy a smaller model.")
{
    public long Bytes { get; } = bytes;

    public long Capacity { get; } = capacity;
}
