using System.Text.Json;
using Flotilla.Fleet.Topics;
using Flotilla.Pipelines.Execution;

namespace Flotilla.Server.Pipelines;

/// <summary>
/// An execution's events between the servers of a cluster, over the fleet's topics (one topic per execution):
/// a client following an execution on any server sees the step and trial events of the server that runs it.
/// </summary>
internal sealed class FleetEventsRelay(ClusterTopics topics) : IExecutionEventsRelay
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public void Send(ExecutionEvent e) => topics.Publish(Topic(e.ExecutionId), JsonSerializer.Serialize(WireEvent.From(e), Json));

    public Task<IDisposable> WatchAsync(string executionId, Action<ExecutionEvent> deliver, CancellationToken cancellationToken) =>
        topics.WatchAsync(Topic(executionId), payload => deliver(JsonSerializer.Deserialize<WireEvent>(payload, Json)!.ToEvent()), cancellationToken);

    private static string Topic(string executionId) => $"execution/{executionId}";

    /// <summary>A trial's stored data is not part of its public JSON (only its reason is); on the wire it travels beside it.</summary>
    private sealed record WireEvent(ExecutionEvent Event, string? TrialData)
    {
        public static WireEvent From(ExecutionEvent e) => new(e, e.Trial?.Data);

        public ExecutionEvent ToEvent() =>
            Event.Trial is { } trial && TrialData is not null ? Event with { Trial = trial with { Data = TrialData } } : Event;
    }
}
