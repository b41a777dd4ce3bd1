using System.Threading.Channels;
using Flotilla.Fleet.Topics;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Fleet.Tests;

public sealed class ClusterTopicsTests
{
    [Fact]
    public async Task What_one_silo_publishes_reaches_the_watchers_of_the_other_in_order_and_not_its_own()
    {
        await using var cluster = await FleetCluster.StartAsync(silos: 2);
        var publisher = cluster.Silo(0).GetRequiredService<ClusterTopics>();
        var watcher = cluster.Silo(1).GetRequiredService<ClusterTopics>();
        var received = Channel.CreateUnbounded<string>();
        var own = Channel.CreateUnbounded<string>();
        // Once the watch is in place, the very next message arrives: no probing until the topic knows the watcher.
        using var watching = await watcher.WatchAsync("execution/a", p => received.Writer.TryWrite(p), CancellationToken.None);
        using var self = await publisher.WatchAsync("execution/a", p => own.Writer.TryWrite(p), CancellationToken.None);

        foreach (var i in Enumerable.Range(0, 20))
        {
            publisher.Publish("execution/a", $"event {i}");
            publisher.Publish("execution/b", $"other {i}");
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var events = new List<string>();
        while (events.Count < 20)
        {
            events.Add(await received.Reader.ReadAsync(timeout.Token));
        }
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"event {i}"), events);
        Assert.False(own.Reader.TryRead(out _));
    }
}
