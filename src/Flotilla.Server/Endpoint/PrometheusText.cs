using System.Globalization;
using System.Text;
using Flotilla.Fleet.Aliases;
using Flotilla.Fleet.Autoscaling;
using Flotilla.Fleet.Hosting;
using Flotilla.Fleet.Observability;

namespace Flotilla.Server.Endpoint;

/// <summary>The fleet's counters in the Prometheus text exposition format (version 0.0.4).</summary>
internal static class PrometheusText
{
    public static string Write(IEnumerable<Deployment> aliases, IReadOnlyList<SiloSnapshot> silos, AutoscaleDecision? autoscaler = null)
    {
        var text = new StringBuilder();
        Family(text, "flotilla_fleet_instances", "gauge", "Silos in the fleet.");
        Sample(text, "flotilla_fleet_instances", "", silos.Count);
        Family(text, "flotilla_fleet_bytes_in_use", "gauge", "Bytes of loaded models per silo.");
        foreach (var s in silos) Sample(text, "flotilla_fleet_bytes_in_use", Labels(("silo", s.Silo)), s.BytesInUse);
        Family(text, "flotilla_fleet_budget_bytes", "gauge", "Memory budget per silo.");
        foreach (var s in silos) Sample(text, "flotilla_fleet_budget_bytes", Labels(("silo", s.Silo)), s.BudgetBytes);
        Family(text, "flotilla_fleet_models_loaded", "gauge", "Models loaded per silo.");
        foreach (var s in silos) Sample(text, "flotilla_fleet_models_loaded", Labels(("silo", s.Silo)), s.Models.Count);
        // The autoscaling signal: rate() of this per instance is invocations per instance (e.g. for a Kubernetes HPA).
        Family(text, "flotilla_fleet_invocations_total", "counter", "Invocations answered through each silo's front doors.");
        foreach (var s in silos) Sample(text, "flotilla_fleet_invocations_total", Labels(("silo", s.Silo)), s.Stats.Sum(m => m.Invocations));
        Family(text, "flotilla_alias_version", "gauge", "Deployed version per group.");
        foreach (var a in aliases) Sample(text, "flotilla_alias_version", Labels(("group", a.Group), ("artifact", a.ArtifactSha256)), a.Version);
        // A split's versions with their weights: joined on artifact with the per-model counters below, per-version calls and latency.
        Family(text, "flotilla_alias_route_weight", "gauge", "Weight of each version of a split group.");
        foreach (var a in aliases)
        {
            foreach (var r in a.Policy?.Routes ?? [])
            {
                Sample(text, "flotilla_alias_route_weight", Labels(("group", a.Group), ("version", r.Version.ToString(CultureInfo.InvariantCulture)), ("artifact", r.ArtifactSha256)), r.Weight);
            }
        }

        if (autoscaler is not null)
        {
            Family(text, "flotilla_autoscaler_current_instances", "gauge", "Instances the autoscaler counted at its latest decision.");
            Sample(text, "flotilla_autoscaler_current_instances", "", autoscaler.Current);
            Family(text, "flotilla_autoscaler_desired_instances", "gauge", "Instances the autoscaler wants at its latest decision.");
            Sample(text, "flotilla_autoscaler_desired_instances", "", autoscaler.Desired);
            Family(text, "flotilla_autoscaler_invocations_per_instance_per_second", "gauge", "Invocation rate per instance over the autoscaler's latest window.");
            Sample(text, "flotilla_autoscaler_invocations_per_instance_per_second", "", autoscaler.RatePerInstance);
        }

        var perModel = silos.SelectMany(s => s.Stats.Select(m => (s.Silo, Stats: m))).ToList();
        Counter(text, perModel, "flotilla_model_hits_total", "Invocations served by an already loaded model.", m => m.Hits);
        Counter(text, perModel, "flotilla_model_misses_total", "Invocations that had to load the model first.", m => m.Misses);
        Counter(text, perModel, "flotilla_model_loads_total", "Successful model loads.", m => m.Loads);
        Counter(text, perModel, "flotilla_model_load_failures_total", "Refused or failed model loads.", m => m.LoadFailures);
        Counter(text, perModel, "flotilla_model_evictions_total", "Models evicted to stay within the memory budget.", m => m.Evictions);
        Counter(text, perModel, "flotilla_model_load_seconds_total", "Time spent loading models.", m => m.LoadSecondsTotal);

        Family(text, "flotilla_invocation_duration_seconds", "histogram", "Invocation latency at the front door, per model.");
        foreach (var (silo, m) in perModel.Where(p => p.Stats.Invocations > 0))
        {
            long cumulative = 0;
            for (var i = 0; i < m.LatencyBucketCounts.Length; i++)
            {
                cumulative += m.LatencyBucketCounts[i];
                var le = i < FleetMetrics.LatencyBuckets.Length ? FleetMetrics.LatencyBuckets[i].ToString("R", CultureInfo.InvariantCulture) : "+Inf";
                Sample(text, "flotilla_invocation_duration_seconds_bucket", Labels(("silo", silo), ("model", m.ArtifactSha256), ("le", le)), cumulative);
            }
            Sample(text, "flotilla_invocation_duration_seconds_sum", Labels(("silo", silo), ("model", m.ArtifactSha256)), m.LatencySecondsTotal);
            Sample(text, "flotilla_invocation_duration_seconds_count", Labels(("silo", silo), ("model", m.ArtifactSha256)), m.Invocations);
        }
        return text.ToString();
    }

    private static void Counter(StringBuilder text, List<(string Silo, ModelStats Stats)> perModel, string name, string help, Func<ModelStats, double> value)
    {
        Family(text, name, "counter", help);
        foreach (var (silo, m) in perModel)
        {
            Sample(text, name, Labels(("silo", silo), ("model", m.ArtifactSha256)), value(m));
        }
    }

    private static void Family(StringBuilder text, string name, string type, string help) =>
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n')
            .Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    private static void Sample(StringBuilder text, string name, string labels, double value) =>
        text.Append(name).Append(labels).Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');

    private static string Labels(params (string Name, string Value)[] labels) =>
        "{" + string.Join(',', labels.Select(l => $"{l.Name}=\"{l.Value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)}\"")) + "}";
}
