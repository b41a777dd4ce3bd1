using System.Collections.Concurrent;
using Flotilla.Learning.Artifacts;

namespace Flotilla.Fleet.Models;

/// <summary>
/// The models whose grain activations live on this silo, readable without a grain call. A front door in the
/// same process scores a co-located model directly, on its own thread: no message, no queue behind the
/// activation's single turn, and both cores busy. Everything else goes through the grain (routing, load on a
/// miss). The grain alone adds and removes entries, so the lifecycle stays Orleans's.
/// </summary>
public sealed class LocalModels
{
    private readonly ConcurrentDictionary<string, Held> _held = new(StringComparer.Ordinal);

    public bool TryGet(string artifactSha256, out Held held) => _held.TryGetValue(artifactSha256, out held!);

    internal void Add(string artifactSha256, LoadedModel model, ModelBudget.Entry entry) => _held[artifactSha256] = new Held(model, entry);

    /// <summary>Forgets the model at eviction time, so new calls go to the grain; calls already holding it finish on it.</summary>
    internal void Remove(string artifactSha256, ModelBudget.Entry entry)
    {
        // Only this activation's entry: a newer activation of the same model may already have replaced it.
        if (_held.TryGetValue(artifactSha256, out var held) && ReferenceEquals(held.Entry, entry))
        {
            _held.TryRemove(new KeyValuePair<string, Held>(artifactSha256, held));
        }
    }

    public sealed record Held(LoadedModel Model, ModelBudget.Entry Entry);
}
