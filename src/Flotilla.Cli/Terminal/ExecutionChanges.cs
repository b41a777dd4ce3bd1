using System.Net.ServerSentEvents;
using System.Threading.Channels;
using Flotilla.Cli.Client;

namespace Flotilla.Cli.Terminal;

/// <summary>
/// Tells the progress display when to read the executions again: as soon as one of their event streams
/// (<c>GET /api/executions/{id}/events</c>, the stream the web UI follows) says something changed, and on a
/// half-second poll only once a stream has broken or ended (a proxy that buffers, a server restart).
/// </summary>
internal sealed class ExecutionChanges : IAsyncDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    // A quiet stream still gets a read now and then: nothing is lost if an event was.
    private static readonly TimeSpan QuietInterval = TimeSpan.FromSeconds(5);

    // Bursts of trial events become one read.
    private static readonly TimeSpan Coalesce = TimeSpan.FromMilliseconds(100);

    private readonly Channel<bool> _changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private readonly TimeProvider _time;
    private readonly List<Task> _streams;
    private int _broken;

    public ExecutionChanges(FlotillaClient client, IEnumerable<string> executionIds, TimeProvider time)
    {
        _time = time;
        _streams = [.. executionIds.Select(id => FollowAsync(client, id, _stop.Token))];
    }

    /// <summary>Returns when a stream reported a change, or when the poll interval passed while a stream is down.</summary>
    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Volatile.Read(ref _broken) > 0 ? PollInterval : QuietInterval);
        try
        {
            await _changed.Reader.ReadAsync(timeout.Token);
            await Task.Delay(Coalesce, _time, cancellationToken);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The interval passed: read anyway.
        }
    }

    private async Task FollowAsync(FlotillaClient client, string id, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await client.OpenEventStreamAsync(id, cancellationToken);
            await foreach (var _ in SseParser.Create(stream).EnumerateAsync(cancellationToken))
            {
                _changed.Writer.TryWrite(true);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or FlotillaApiException or OperationCanceledException)
        {
            // The stream is down (refused, cut, timed out): the display polls instead, below.
        }
        Interlocked.Increment(ref _broken);
        _changed.Writer.TryWrite(true);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_streams);
        _stop.Dispose();
    }
}
