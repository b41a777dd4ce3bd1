using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Flotilla.Pipelines.Execution;

/// <summary>Live progress of executions in this process, for server-sent events and <c>--wait</c>.</summary>
public sealed class ExecutionEvents
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<Subscription, byte>> _subscribers = new();

    /// <summary>Events of one execution from now on; dispose to unsubscribe.</summary>
    public Subscription Subscribe(string executionId)
    {
        var subscription = new Subscription(this, executionId);
        _subscribers.GetOrAdd(executionId, _ => new()).TryAdd(subscription, 0);
        return subscription;
    }

    internal void Publish(ExecutionEvent e)
    {
        if (_subscribers.TryGetValue(e.ExecutionId, out var subscribers))
        {
            foreach (var subscriber in subscribers.Keys)
            {
                subscriber.Channel.Writer.TryWrite(e);
            }
        }
    }

    private void Remove(Subscription subscription)
    {
        if (_subscribers.TryGetValue(subscription.ExecutionId, out var subscribers))
        {
            subscribers.TryRemove(subscription, out _);
            if (subscribers.IsEmpty)
            {
                _subscribers.TryRemove(KeyValuePair.Create(subscription.ExecutionId, subscribers));
            }
        }
    }

    public sealed class Subscription(ExecutionEvents owner, string executionId) : IDisposable
    {
        internal Channel<ExecutionEvent> Channel { get; } = System.Threading.Channels.Channel.CreateUnbounded<ExecutionEvent>(new() { SingleReader = true });

        internal string ExecutionId => executionId;

        public ChannelReader<ExecutionEvent> Reader => Channel.Reader;

        public void Dispose()
        {
            owner.Remove(this);
            Channel.Writer.TryComplete();
        }
    }
}
