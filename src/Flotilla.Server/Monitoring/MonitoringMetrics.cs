using System.Globalization;
using System.Text;
using Flotilla.Fleet.Monitoring;

namespace Flotilla.Server.Monitoring;

/// <summary>The monitoring gauges in the Prometheus text format, from the drift watch's latest round (a scrape computes nothing).</summary>
internal static class MonitoringMetrics
{
    public static string Write(IReadOnlyCollection<DriftReport> reports, RequestCapture capture)
    {
        var text = new StringBuilder();
        text.Append("# HELP flotilla_capture_dropped_total Captured invocations dropped because the capture queue was full (this server).\n# TYPE flotilla_capture_dropped_total counter\n")
            .Append("flotilla_capture_dropped_total ").Append(capture.Dropped.ToString(CultureInfo.InvariantCulture)).Append('\n')
            .Append("# HELP flotilla_capture_written_total Captured invocations written to the artifact store (this server).\n# TYPE flotilla_capture_written_total counter\n")
            .Append("flotilla_capture_written_total ").Append(capture.Written.ToString(CultureInfo.InvariantCulture)).Append('\n');
        Family(text, "flotilla_feature_psi", "Population stability index of a feature's live values against its training profile, per deployed group.");
        foreach (var r in reports)
        {
            foreach (var f in r.Features)
            {
                Sample(text, "flotilla_feature_psi", [("group", r.Group), ("feature", f.Name)], f.Psi);
            }
        }
        Family(text, "flotilla_score_psi", "Population stability index of the live P(positive) against the test rows at registration.");
        foreach (var r in reports) Sample(text, "flotilla_score_psi", [("group", r.Group)], r.Score.Psi);
        Family(text, "flotilla_drift_state", "Drift state per group: 0 collecting, 1 ok, 2 warn, 3 alert.");
        foreach (var r in reports) Sample(text, "flotilla_drift_state", [("group", r.Group)], (int)r.State);
        Family(text, "flotilla_drift_window_rows", "Live rows in the drift window per group.");
        foreach (var r in reports) Sample(text, "flotilla_drift_window_rows", [("group", r.Group)], r.Window.Rows);
        return text.ToString();
    }

    private static void Family(StringBuilder text, string name, string help) =>
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n').Append("# TYPE ").Append(name).Append(" gauge\n");

    private static void Sample(StringBuilder text, string name, (string Name, string Value)[] labels, double value) =>
        text.Append(name).Append('{')
            .AppendJoin(',', labels.Select(l => $"{l.Name}=\"{l.Value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)}\""))
            .Append("} ").Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
}
