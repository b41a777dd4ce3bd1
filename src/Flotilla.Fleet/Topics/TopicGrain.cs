using Flotilla.Fleet.Hosting;
using Orleans.GrainDirectory;

namespace Flotilla.Fleet.Topics;

internal sealed class TopicGrain(IGrainContext context, IGrainFactory grains, TimeProvider time) : IGrainBase, ITopicGrain
{
    private readonly Dictionary<string, DateTimeOffset> _watchers = [];

    public IGrainContext GrainContext => context;

    public Task WatchAsync(string silo, TimeSpan lease)
    {
        _watchers[silo] = time.GetUtcNow() + lease;
        return Task.CompletedTask;
    }

    public Task UnwatchAsync(string silo)
    {
        _watchers.Remove(silo);
        return Task.CompletedTask;
    }

    public async Task PublishAsync(string origin, string payload)
    {
        var now = time.GetUtcNow();
        var topic = context.GrainId.Key.ToString()!;
        var deliveries = new List<(string Silo, Task Call)>();
        foreach (var (silo, until) in _watchers.ToList())
        {
            if (until < now)
            {
                _watchers.Remove(silo);
            }
            else if (silo != origin)
            {
                deliveries.Add((silo, grains.GetGrain<ITopicInboxGrain>(silo).DeliverAsync(topic, payload)));
            }
        }

        foreach (var (silo, call) in deliveries)
        {
            try
            {
                await call;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The silo is gone (or cannot be placed on): it renews its watch again if it comes back.
                _watchers.Remove(silo);
            }
        }
    }
}

[SiloTargetedPlacement, GrainDirectory(PinnedGrainDirectory.Name)]
internal sealed class TopicInboxGrain(IGrainContext context, ClusterTopics topics) : IGrainBase, ITopicInboxGrain
{
    public IGrainContext GrainContext => context;

    public Task DeliverAsync(string topic, string payload)
    {
        topics.Deliver(topic, payload);
        return Task.CompletedTask;
    }
}
