using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Flotilla.Fleet.Topics;

/// <summary>
/// Messages by topic between the silos of the fleet, for what a client of any server should see live (an
/// execution's events): <see cref="Publish"/> sends to every other silo that <see cref="WatchAsync"/>es the topic. No
/// history and no delivery guarantee beyond the runtime's: a watcher that needs the whole state reads the store.
/// </summary>
public sealed partial class ClusterTopics(IGrainFactory grains, ILocalSiloDetails local, TimeProvider time, ILogger<ClusterTopics> logger)
    : BackgroundService
{
    /// <summary>How often a silo renews its watches; a watch lapses after three missed renewals.</summary>
    internal static readonly TimeSpan RenewInterval = TimeSpan.FromSeconds(10);

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Watched> _watched = [];
    private readonly Channel<(string Topic, string Payload)> _outbox = Channel.CreateUnbounded<(string, string)>(new() { SingleReader = true });

    private string Self => local.SiloAddress.ToParsableString();

    /// <summary>
    /// Sends <paramref name="payload"/> to the other silos watching <paramref name="topic"/>; never waits for them.
    /// This silo's messages leave one at a time, in the order they were published.
    /// </summary>
    public void Publish(string topic, string payload) => _outbox.Writer.TryWrite((topic, payload));

    /// <summary>
    /// Calls <paramref name="deliver"/> with what other silos publish on <paramref name="topic"/> until disposed.
    /// Returns once the topic knows this silo watches it: whatever is published after that reaches
    /// <paramref name="deliver"/>, so a reader that then reads the store misses nothing in between. A watch the
    /// topic could not be told of still returns (the failure is logged); the next renewal tells it.
    /// </summary>
    public async Task<IDisposable> WatchAsync(string topic, Action<string> deliver, CancellationToken cancellationToken)
    {
        Task registered;
        lock (_lock)
        {
            if (!_watched.TryGetValue(topic, out var watched))
            {
                _watched[topic] = watched = new(Register(topic));
            }
            watched.Handlers.Add(deliver);
            registered = watched.Registered;
        }

        var watching = new Watching(this, topic, deliver);
        try
        {
            await registered.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            watching.Dispose();
            throw;
        }
        catch (Exception e) when (e is OrleansException or TimeoutException)
        {
            // Logged by Observe; live delivery starts at the next renewal instead.
        }
        return watching;
    }

    internal void Deliver(string topic, string payload)
    {
        Action<string>[] handlers;
        lock (_lock)
        {
            handlers = _watched.TryGetValue(topic, out var watched) ? [.. watched.Handlers] : [];
        }
        foreach (var handler in handlers)
        {
            handler(payload);
        }
    }

    private void Unwatch(string topic, Action<string> deliver)
    {
        bool last;
        lock (_lock)
        {
            last = _watched.TryGetValue(topic, out var watched) && watched.Handlers.Remove(deliver) && watched.Handlers.Count == 0;
            if (last)
            {
                _watched.Remove(topic);
            }
        }
        if (last)
        {
            _ = Observe(grains.GetGrain<ITopicGrain>(topic).UnwatchAsync(Self), topic);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(SendAsync(stoppingToken), RenewAsync(stoppingToken));

    private async Task SendAsync(CancellationToken stoppingToken)
    {
        await foreach (var (topic, payload) in _outbox.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await grains.GetGrain<ITopicGrain>(topic).PublishAsync(Self, payload);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogCallFailed(topic, e.Message);
            }
        }
    }

    private async Task RenewAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(RenewInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            string[] topics;
            lock (_lock)
            {
                topics = [.. _watched.Keys];
            }
            foreach (var topic in topics)
            {
                _ = Register(topic);
            }
        }
    }

    private Task Register(string topic) => Observe(grains.GetGrain<ITopicGrain>(topic).WatchAsync(Self, RenewInterval * 3), topic);

    // Nobody need wait, but a failure is logged rather than lost: the next renewal or the reader's store re-read covers it.
    private Task Observe(Task call, string topic)
    {
        call.ContinueWith(t => LogCallFailed(topic, t.Exception!.GetBaseException().Message), CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return call;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A call to topic {Topic} failed: {Error}")]
    private partial void LogCallFailed(string topic, string error);

    /// <summary>This silo's handlers of one topic, and the call that told the topic of them.</summary>
    private sealed class Watched(Task registered)
    {
        public List<Action<string>> Handlers { get; } = [];

        public Task Registered { get; } = registered;
    }

    private sealed class Watching(ClusterTopics owner, string topic, Action<string> deliver) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Unwatch(topic, deliver);
            }
        }
    }
}
