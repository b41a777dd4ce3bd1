using System.Threading.Channels;

namespace Flotilla.Pipelines.Execution;

/// <summary>
/// Live progress of executions, for server-sent events and <c>--wait</c>: what this process publishes and, with a
/// <paramref name="relay"/>, what the other servers of a cluster publish for an execution watched here.
/// </summary>
public sealed class ExecutionEvents(IExecutionEventsRelay? relay = null)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Watchers> _watched = [];

    /// <summary>
    /// Events of one execution from the moment this returns, whichever server of the cluster publishes them; dispose
    /// to unsubscribe. A reader that subscribes first and then reads the store misses nothing.
    /// </summary>
    public async Task<Subscription> SubscribeAsync(string executionId, CancellationToken cancellationToken)
    {
        var subscription = new Subscription(this, executionId);
        Watchers? watchers;
        lock (_lock)
        {
            if (!_watched.TryGetValue(executionId, out watchers))
            {
                // The first subscriber here starts the watch of the other servers; the last one ends it.
                _watched[executionId] = watchers = new Watchers(relay is null ? null : new(() => relay.WatchAsync(executionId, Deliver, CancellationToken.None)));
            }
            watchers.Subscriptions.Add(subscription);
        }

        if (watchers.Watch is { } watch)
        {
            try
            {
                await watch.Value.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                subscription.Dispose();
                throw;
            }
        }
        return subscription;
    }

    internal void Publish(ExecutionEvent e)
    {
        Deliver(e);
        relay?.Send(e);
    }

    private void Deliver(ExecutionEvent e)
    {
        Subscription[] subscriptions;
        lock (_lock)
        {
            subscriptions = _watched.TryGetValue(e.ExecutionId, out var watchers) ? [.. watchers.Subscriptions] : [];
        }
        foreach (var subscription in subscriptions)
        {
            subscription.Channel.Writer.TryWrite(e);
        }
    }

    private void Remove(Subscription subscription)
    {
        Lazy<Task<IDisposable>>? watch = null;
        lock (_lock)
        {
            if (_watched.TryGetValue(subscription.ExecutionId, out var watchers)
                && watchers.Subscriptions.Remove(subscription) && watchers.Subscriptions.Count == 0)
            {
                _watched.Remove(subscription.ExecutionId);
                watch = watchers.Watch;
            }
        }
        if (watch is { IsValueCreated: true })
        {
            watch.Value.ContinueWith(t => t.Result.Dispose(), CancellationToken.None,
                TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    /// <summary>The subscriptions of one execution here, and the watch of the other servers (none without a relay).</summary>
    private sealed class Watchers(Lazy<Task<IDisposable>>? watch)
    {
        public HashSet<Subscription> Subscriptions { get; } = [];

        public Lazy<Task<IDisposable>>? Watch { get; } = watch;
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
