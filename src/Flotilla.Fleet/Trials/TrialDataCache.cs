using Flotilla.Learning.Data;
using Flotilla.Storage.Artifacts;

namespace Flotilla.Fleet.Trials;

/// <summary>
/// The training tables this silo fetched for remote trials, by content hash and read options: each is fetched from
/// the artifact store and parsed once per silo, and its prepared folds (cached by the learning core per table) are
/// shared by every trial of the run here. Holds the few most recently used; a tuning run uses one.
/// </summary>
internal sealed class TrialDataCache(IArtifactStore store)
{
    internal const int Capacity = 4;
    private readonly Lock _lock = new();
    private readonly LinkedList<(TrialDataRef Key, Task<Table> Table)> _entries = new();

    public async Task<Table> GetAsync(TrialDataRef data, CancellationToken cancellationToken)
    {
        Task<Table> table;
        lock (_lock)
        {
            var node = Find(data);
            if (node is null)
            {
                node = _entries.AddFirst((data, FetchAsync(data)));
                if (_entries.Count > Capacity)
                {
                    _entries.RemoveLast();
                }
            }
            else
            {
                _entries.Remove(node);
                _entries.AddFirst(node);
            }
            table = node.Value.Table;
        }

        try
        {
            return await table.WaitAsync(cancellationToken);
        }
        catch (Exception) when (table.IsFaulted)
        {
            // A failed fetch (store unreachable for a moment) must not stay cached for the next trial.
            lock (_lock)
            {
                if (Find(data) is { } node && node.Value.Table == table)
                {
                    _entries.Remove(node);
                }
            }
            throw;
        }
    }

    private LinkedListNode<(TrialDataRef Key, Task<Table> Table)>? Find(TrialDataRef data)
    {
        for (var node = _entries.First; node is not null; node = node.Next)
        {
            if (Same(node.Value.Key, data))
            {
                return node;
            }
        }
        return null;
    }

    private static bool Same(TrialDataRef a, TrialDataRef b) =>
        a.Sha256 == b.Sha256 && a.Label == b.Label && a.Delimiter == b.Delimiter && a.PositiveLabel == b.PositiveLabel
        && a.MaxBytes == b.MaxBytes && a.Exclude.SequenceEqual(b.Exclude);

    // Not tied to one trial's cancellation: the table outlives the trial that asked first.
    private async Task<Table> FetchAsync(TrialDataRef data)
    {
        var bytes = await store.ReadVerifiedAsync(data.Sha256, CancellationToken.None);
        using var stream = new MemoryStream(bytes, writable: false);
        return await Task.Run(() => TableReader.Read(stream, $"training data {data.Sha256[..12]}", data.ToCsvOptions(), CancellationToken.None));
    }
}
