namespace Flotilla.Pipelines.Execution;

/// <summary>
/// How the events of an execution reach the other servers of a cluster, whichever of them runs it (the fleet's
/// topics in a server of the cluster shape). A process alone registers none: its events stay in process.
/// </summary>
public interface IExecutionEventsRelay
{
    /// <summary>Sends an event published in this process to the other servers watching its execution; never waits.</summary>
    void Send(ExecutionEvent e);

    /// <summary>
    /// Delivers the events other servers publish for <paramref name="executionId"/> until disposed; returns once
    /// every event published from then on is sure to be delivered.
    /// </summary>
    Task<IDisposable> WatchAsync(string executionId, Action<ExecutionEvent> deliver, CancellationToken cancellationToken);
}
