using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using Dapper;
using Flotilla.Fleet.Monitoring;
using Flotilla.Storage.Artifacts;
using Flotilla.Storage.Metadata;
using Microsoft.Extensions.Options;

namespace Flotilla.Server.Monitoring;

/// <summary>
/// Joins feedback the silos could not — they remember the latest <see cref="MonitoringOptions.RecentPredictions"/>
/// predictions per model, and none after a restart — to the group's captured rows made within
/// <see cref="MonitoringOptions.FeedbackWindow"/>, reading its capture batches newest first until every label is found.
/// Each joined label is kept once in <c>monitoring_feedback</c> (keyed by group, request id and row), and so are the
/// keys the silos joined while the group has capture, so a label sent again is never counted twice. Live metrics
/// merge these outcomes with the silos'. Nothing is read or written for a group without capture in the window.
/// </summary>
internal sealed partial class CapturedFeedback(
    MetadataStore store, IArtifactStore artifacts, ModelSchemas schemas, IOptions<MonitoringOptions> options, TimeProvider time, ILogger<CapturedFeedback> logger)
    : ICapturedFeedback
{
    public static IReadOnlyList<Migration> Migrations { get; } =
    [
        // version IS NULL: a label a silo joined, kept only so that the capture never joins it again.
        new(DriftEvents.Component, 3, """
            CREATE TABLE IF NOT EXISTS monitoring_feedback (
                group_name TEXT NOT NULL,
                request_id TEXT NOT NULL,
                row_index BIGINT NOT NULL,
                version BIGINT,
                positive DOUBLE PRECISION,
                predicted_positive BIGINT,
                actual_positive BIGINT,
                predicted_ms BIGINT,
                joined_ms BIGINT NOT NULL,
                PRIMARY KEY (group_name, request_id, row_index));
            CREATE INDEX IF NOT EXISTS monitoring_feedback_by_time ON monitoring_feedback (group_name, predicted_ms);
            """),
    ];

    private TimeSpan Window => options.Value.FeedbackWindow;

    public async Task<FeedbackJoin> JoinAsync(
        string group, IReadOnlyList<FeedbackLabel> joinedRecently, IReadOnlyList<FeedbackLabel> unmatched, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var since = now - Window;
        var batches = await BatchesAsync(group, since, cancellationToken);
        if (batches.Count == 0)
        {
            return new FeedbackJoin([], []);
        }

        var wanted = unmatched.GroupBy(l => (l.RequestId, l.Row)).ToDictionary(g => g.Key, g => g.Last());
        var found = wanted.Count == 0 ? [] : await FindAsync(batches, wanted, since, cancellationToken);
        var outcomes = new List<(FeedbackLabel Label, CapturedPrediction Prediction, bool ActualPositive)>();
        var invalid = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var (label, prediction) in found)
        {
            if (await schemas.GetAsync(prediction.ArtifactSha256, cancellationToken) is not { } schema)
            {
                continue;
            }
            var labels = schema.LabelMapping;
            bool? actual = Matches(label.Label, labels.Positive) ? true : Matches(label.Label, labels.Negative) ? false : null;
            if (actual is null)
            {
                invalid.Add($"'{Clip(label.Label)}' is not one of the model's labels ({labels.Positive}, {labels.Negative})");
                continue;
            }
            outcomes.Add((label, prediction with { PredictedPositive = prediction.Label == labels.Positive }, actual.Value));
        }

        var nowMs = now.ToUnixTimeMilliseconds();
        var joined = await store.InTransactionAsync(async (connection, transaction, ct) =>
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "DELETE FROM monitoring_feedback WHERE group_name = @Group AND COALESCE(predicted_ms, joined_ms) < @Cutoff",
                new { Group = group, Cutoff = since.ToUnixTimeMilliseconds() }, transaction, cancellationToken: ct));
            foreach (var label in joinedRecently)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "INSERT INTO monitoring_feedback (group_name, request_id, row_index, joined_ms) VALUES (@Group, @RequestId, @Row, @Now) ON CONFLICT DO NOTHING",
                    new { Group = group, label.RequestId, label.Row, Now = nowMs }, transaction, cancellationToken: ct));
            }
            var added = new List<FeedbackLabel>();
            foreach (var (label, prediction, actual) in outcomes)
            {
                var positive = prediction.PredictedPositive ? prediction.Probability : 1 - prediction.Probability;
                var inserted = await connection.ExecuteAsync(new CommandDefinition(
                    """
                    INSERT INTO monitoring_feedback (group_name, request_id, row_index, version, positive, predicted_positive, actual_positive, predicted_ms, joined_ms)
                    VALUES (@Group, @RequestId, @Row, @Version, @Positive, @Predicted, @Actual, @PredictedMs, @Now) ON CONFLICT DO NOTHING
                    """,
                    new
                    {
                        Group = group, label.RequestId, label.Row, prediction.Version, Positive = positive, Predicted = prediction.PredictedPositive ? 1 : 0,
                        Actual = actual ? 1 : 0, PredictedMs = prediction.Time.ToUnixTimeMilliseconds(), Now = nowMs,
                    }, transaction, cancellationToken: ct));
                if (inserted == 1)
                {
                    added.Add(label);
                }
            }
            return added;
        }, cancellationToken);
        return new FeedbackJoin(joined, [.. invalid]);
    }

    public async Task<IReadOnlyList<LabelledOutcome>> OutcomesSinceAsync(string group, long sinceMs, CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(long Version, double Positive, long PredictedPositive, long ActualPositive, long PredictedMs)>(new CommandDefinition(
            """
            SELECT version, positive, predicted_positive, actual_positive, predicted_ms FROM monitoring_feedback
            WHERE group_name = @Group AND version IS NOT NULL AND predicted_ms >= @Since
            ORDER BY predicted_ms DESC LIMIT @Limit
            """,
            new { Group = group, Since = sinceMs, Limit = options.Value.LabelledOutcomes }, cancellationToken: cancellationToken));
        return [.. rows.Select(r => new LabelledOutcome((int)r.Version, r.Positive, r.PredictedPositive == 1, r.ActualPositive == 1, r.PredictedMs))];
    }

    /// <summary>The group's capture batches whose hour reaches into the window, newest first.</summary>
    private async Task<List<string>> BatchesAsync(string group, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var prefix = $"{RequestCapture.Prefix}{group}/";
        var firstHour = since.UtcDateTime.ToString("yyyy-MM-dd-HH", CultureInfo.InvariantCulture);
        var keys = new List<string>();
        await foreach (var o in artifacts.ListObjectsAsync(prefix, cancellationToken))
        {
            var hour = o.Key.AsSpan(prefix.Length);
            var slash = hour.IndexOf('/');
            if (slash > 0 && hour[..slash].CompareTo(firstHour, StringComparison.Ordinal) >= 0)
            {
                keys.Add(o.Key);
            }
        }
        keys.Reverse();
        return keys;
    }

    /// <summary>The captured rows named in <paramref name="wanted"/>, made since <paramref name="since"/>; stops once every one is found.</summary>
    private async Task<List<(FeedbackLabel Label, CapturedPrediction Prediction)>> FindAsync(
        List<string> batches, Dictionary<(string RequestId, int Row), FeedbackLabel> wanted, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var found = new List<(FeedbackLabel, CapturedPrediction)>();
        var left = new Dictionary<(string RequestId, int Row), FeedbackLabel>(wanted);
        foreach (var key in batches)
        {
            try
            {
                await using var gzip = new GZipStream(await artifacts.OpenObjectAsync(key, cancellationToken), CompressionMode.Decompress);
                using var reader = new StreamReader(gzip);
                while (await reader.ReadLineAsync(cancellationToken) is { } line)
                {
                    using var document = JsonDocument.Parse(line);
                    var root = document.RootElement;
                    var id = (root.GetProperty("requestId").GetString() ?? "", root.GetProperty("row").GetInt32());
                    if (!left.Remove(id, out var label))
                    {
                        continue;
                    }
                    var at = root.GetProperty("time").GetDateTimeOffset();
                    if (at < since)
                    {
                        continue;
                    }
                    found.Add((label, new CapturedPrediction(
                        root.GetProperty("artifactSha256").GetString() ?? "",
                        root.GetProperty("version").ValueKind == JsonValueKind.Number ? root.GetProperty("version").GetInt32() : 0,
                        root.GetProperty("label").GetString() ?? "",
                        root.GetProperty("probability").GetDouble(),
                        at)));
                    if (left.Count == 0)
                    {
                        return found;
                    }
                }
            }
            catch (Exception e) when (e is ObjectNotFoundException or JsonException or InvalidDataException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                // Trimmed by the byte cap since it was listed, or not a capture batch: the rest is still read.
                LogBatchSkipped(logger, key, e.Message);
            }
        }
        return found;
    }

    private static bool Matches(string given, string label) => string.Equals(given.Trim(), label, StringComparison.OrdinalIgnoreCase);

    private static string Clip(string value) => value.Length <= 40 ? value : value[..40] + "…";

    /// <summary>One captured row as feedback needs it: which model and version answered what, when.</summary>
    private sealed record CapturedPrediction(string ArtifactSha256, int Version, string Label, double Probability, DateTimeOffset Time)
    {
        public bool PredictedPositive { get; init; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Capture batch {Key} was skipped while joining feedback: {Reason}")]
    private static partial void LogBatchSkipped(ILogger logger, string key, string reason);
}
