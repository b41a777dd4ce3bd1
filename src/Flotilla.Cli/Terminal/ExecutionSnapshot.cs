using System.Globalization;
using System.Text.Json.Nodes;

namespace Flotilla.Cli.Terminal;

/// <summary>One step as shown by the progress display.</summary>
internal sealed record StepSnapshot(string Name, string Status, DateTimeOffset? Started, DateTimeOffset? Ended, string? FailureReason, JsonObject? Outputs);

/// <summary>
/// What the progress display needs from <c>GET /api/executions/{id}</c> and its trials, read leniently
/// (a field the server renames shows as missing rather than failing the command).
/// </summary>
internal sealed record ExecutionSnapshot(
    string Id,
    string Status,
    IReadOnlyList<StepSnapshot> Steps,
    DateTimeOffset? Started,
    DateTimeOffset? Ended,
    string? FailureReason,
    int TrialsDone,
    int? TrialsTotal,
    double? BestScore,
    string? Scorer)
{
    public static readonly string[] TerminalStatuses = ["Succeeded", "Failed", "Stopped"];

    public bool IsFinished => TerminalStatuses.Contains(Status, StringComparer.OrdinalIgnoreCase);

    public bool Succeeded => string.Equals(Status, "Succeeded", StringComparison.OrdinalIgnoreCase);

    public static ExecutionSnapshot From(JsonObject execution, JsonNode? trials)
    {
        var steps = (execution["steps"] as JsonArray ?? [])
            .OfType<JsonObject>()
            .Select(s => new StepSnapshot(
                Str(s, "name", "stepName", "id") ?? "?",
                Str(s, "status") ?? "Pending",
                Time(s, "startedAt", "startTime", "started"),
                Time(s, "endedAt", "finishedAt", "completedAt", "endTime", "ended"),
                Str(s, "failureReason", "failure", "error"),
                s["outputs"] as JsonObject))
            .ToList();

        var parameters = execution["parameters"] as JsonObject;
        var scorer = parameters?["CrossValidationScorer"] is JsonNode sc ? CliConsole.Text(sc) : "roc_auc";

        var trialList = (trials as JsonArray ?? trials?["trials"] as JsonArray ?? []).OfType<JsonObject>().ToList();
        var finished = trialList.Where(t => Str(t, "status") is not ("Running" or "Pending" or "Executing")).ToList();
        var scores = finished
            .Where(t => Str(t, "status") is null or "Completed" or "Succeeded" or "Complete")
            .Select(t => Num(t, "score", "meanScore", "cvScore", "objective"))
            .OfType<double>()
            .Where(double.IsFinite)
            .ToList();

        // The tuner's own count (a grid may plan fewer than MaxTuningJobs): on every trial, and on the Tune step once it ends.
        var planned = trialList.Select(t => Num(t, "planned")).OfType<double>().Select(p => (int?)p).Max()
            ?? steps.Select(s => s.Outputs is { } o ? Num(o, "planned") : null).OfType<double>().Select(p => (int?)p).Max();

        var failure = Str(execution, "failureReason", "failure", "error")
            ?? steps.FirstOrDefault(s => s.FailureReason is not null)?.FailureReason;

        return new ExecutionSnapshot(
            Str(execution, "id", "executionId") ?? "?",
            Str(execution, "status") ?? "Executing",
            steps,
            Time(execution, "startedAt", "createdAt", "startTime"),
            Time(execution, "endedAt", "finishedAt", "completedAt", "endTime"),
            failure,
            finished.Count,
            planned is { } total ? Math.Max(total, finished.Count) : null,
            scores.Count > 0 ? scores.Max() : null,
            scorer);
    }

    /// <summary>The register step's outputs, e.g. "registered multimodel-churn v1 (package 7, PendingManualApproval)".</summary>
    public string? Outcome()
    {
        if (!IsFinished)
        {
            return null;
        }
        if (!Succeeded)
        {
            return $"{Status}: {FailureReason ?? "no reason given"}";
        }
        var register = Steps.LastOrDefault(s => s.Name.Contains("Register", StringComparison.OrdinalIgnoreCase))?.Outputs;
        if (register is null)
        {
            return "Succeeded";
        }
        var group = Str(register, "group", "modelPackageGroup", "groupName");
        var version = Str(register, "version", "modelVersion");
        var package = Str(register, "packageId", "modelPackageId", "id");
        var status = Str(register, "approvalStatus", "status");
        return $"registered {group ?? "model"}{(version is null ? "" : " v" + version)}"
            + (package is null && status is null ? "" : $" ({string.Join(", ", new[] { package is null ? null : "package " + package, status }.OfType<string>())})");
    }

    public TimeSpan Elapsed(DateTimeOffset now) =>
        Started is { } s ? ((Ended ?? now) - s) is { Ticks: > 0 } e ? e : TimeSpan.Zero : TimeSpan.Zero;

    public static string? Str(JsonObject o, params string[] keys) =>
        keys.Select(k => o[k]).FirstOrDefault(v => v is not null) is { } node ? CliConsole.Text(node) : null;

    public static double? Num(JsonObject o, params string[] keys)
    {
        foreach (var key in keys)
        {
            if (o[key] is JsonValue v)
            {
                if (v.TryGetValue<double>(out var d))
                {
                    return d;
                }
                if (v.TryGetValue<string>(out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out d))
                {
                    return d;
                }
            }
        }
        return null;
    }

    private static DateTimeOffset? Time(JsonObject o, params string[] keys) =>
        Str(o, keys) is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : null;
}
