using System.Collections.Concurrent;
using Orleans.GrainDirectory;

namespace Flotilla.Fleet.Hosting;

/// <summary>
/// The grain directory of grains whose key names the one silo they may live on (<see cref="SiloTargetedPlacement"/>,
/// <see cref="Models.ModelPlacement"/>): each silo knows only its own activations. A caller on another silo needs no
/// lookup, because placement alone names the silo, and that silo's catalog finds or creates the activation. Orleans'
/// default directory keeps each grain's entry on a silo chosen by hashing the grain id; when that silo dies, a call to
/// a model on a healthy silo waits until membership declares it dead. Serving failover is exactly that moment.
/// </summary>
internal sealed class PinnedGrainDirectory : IGrainDirectory
{
    public const string Name = "flotilla-pinned";

    private readonly ConcurrentDictionary<GrainId, GrainAddress> _local = new();

    /// <summary>The first activation registered wins; the caller forwards to it (the catalog already keeps one per silo).</summary>
    public Task<GrainAddress?> Register(GrainAddress address) => Task.FromResult<GrainAddress?>(_local.GetOrAdd(address.GrainId, address));

    public Task Unregister(GrainAddress address)
    {
        _local.TryRemove(new KeyValuePair<GrainId, GrainAddress>(address.GrainId, address));
        return Task.CompletedTask;
    }

    /// <summary>This silo's activation, or none: elsewhere the placement director decides where the call goes.</summary>
    public Task<GrainAddress?> Lookup(GrainId grainId) => Task.FromResult(_local.GetValueOrDefault(grainId));

    public Task UnregisterSilos(List<SiloAddress> siloAddresses)
    {
        foreach (var (grain, address) in _local)
        {
            if (address.SiloAddress is { } silo && siloAddresses.Contains(silo))
            {
                _local.TryRemove(new KeyValuePair<GrainId, GrainAddress>(grain, address));
            }
        }
        return Task.CompletedTask;
    }
}
