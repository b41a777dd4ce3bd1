namespace Flotilla.Fleet.Monitoring;

/// <summary>
/// Labels joined outside the silos' memory: to the predictions the server captured (the silos remember only the
/// latest <see cref="MonitoringOptions.RecentPredictions"/> per model, and nothing across a restart). The server
/// registers it; <see cref="MonitorClient"/> asks it about the labels no silo matched and merges its outcomes into
/// live metrics.
/// </summary>
public interface ICapturedFeedback
{
    /// <summary>
    /// Joins <paramref name="unmatched"/> to the group's captured predictions, each at most once ever; remembers
    /// <paramref name="joinedRecently"/> (labels the silos joined) so they are never joined a second time from the capture.
    /// </summary>
    Task<FeedbackJoin> JoinAsync(string group, IReadOnlyList<FeedbackLabel> joinedRecently, IReadOnlyList<FeedbackLabel> unmatched, CancellationToken cancellationToken);

    /// <summary>The labelled predictions it joined for <paramref name="group"/> that were made since <paramref name="sinceMs"/>.</summary>
    Task<IReadOnlyList<LabelledOutcome>> OutcomesSinceAsync(string group, long sinceMs, CancellationToken cancellationToken);
}
