namespace Flotilla.Fleet.Topics;

/// <summary>
/// One per topic: which silos watch it, and the fan-out of what is published to them. A watch is a lease the
/// watching silo renews (<see cref="ClusterTopics.RenewInterval"/>), so a silo that died stops being sent to and
/// a topic grain that was deactivated learns its watchers again at the next renewal.
/// </summary>
public interface ITopicGrain : IGrainWithStringKey
{
    Task WatchAsync(string silo, TimeSpan lease);

    Task UnwatchAsync(string silo);

    /// <summary>
    /// Sends <paramref name="payload"/> to every watching silo but <paramref name="origin"/> (it delivered it itself),
    /// and returns when they have it: a publisher that awaits each call keeps its messages in order (independent calls
    /// are not ordered by the runtime: twenty sent at once to a grain being activated arrived in reverse).
    /// </summary>
    Task PublishAsync(string origin, string payload);
}

/// <summary>One per silo (keyed by its address): where a topic grain delivers to that silo's <see cref="ClusterTopics"/>.</summary>
public interface ITopicInboxGrain : IGrainWithStringKey
{
    Task DeliverAsync(string topic, string payload);
}
