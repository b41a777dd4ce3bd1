using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Flotilla.Pipelines.Execution;

/// <summary>Executions waiting for a worker, and the stop switch of each one running in this process.</summary>
public sealed class ExecutionQueue
{
    private readonly Channel<string> _waiting = Channel.CreateUnbounded<string>();
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _running = new();

    internal ChannelReader<string> Reader => _waiting.Reader;

    internal void Enqueue(string executionId) => _waiting.Writer.TryWrite(executionId);

    /// <summary>False when this execution already runs here (queued twice: started and resumed).</summary>
    internal bool TryClaim(string executionId, CancellationTokenSource stop) => _running.TryAdd(executionId, stop);

    internal void Release(string executionId) => _running.TryRemove(executionId, out _);

    /// <summary>Signals a running execution to stop; its steps see their token cancelled.</summary>
    internal void SignalStop(string executionId)
    {
        if (_running.TryGetValue(executionId, out var stop))
        {
            try
            {
                stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // It finished between the lookup and the signal: nothing left to stop.
            }
        }
    }
}
