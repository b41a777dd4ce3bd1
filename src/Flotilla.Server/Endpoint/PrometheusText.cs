using System.Globalization;
using System.Text;
using Flotilla.Fleet.Aliases;
using Flotilla.Fleet.Autoscaling;
using Flotilla.Fleet.Hosting;
using Flotilla.Fleet.Observability;
using Flotilla.Fleet.Rollout;

namespace Flotilla.Server.Endpoint;

/// <summary>The fleet's counters in the Prometheus text exposition format (version 0.0.4).</summary>
internal static class PrometheusText
{
    public static string Write(
        IEnumerable<Deployment> aliases, IReadOnlyList<SiloSnapshot> silos, AutoscaleDecision? autoscaler, IReadOnlyList<CanaryRollout> rollouts)
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

        WriteShadows(text, ShadowViews.Of(silos));
        // A rollout in progress: the new version's share of the calls at its current step.
        Family(text, "flotilla_rollout_step_percent", "gauge", "Share of a group's calls the version under a canary rollout has at its current step.");
        foreach (var r in rollouts.Where(r => r.State == RolloutState.Running))
        {
            Sample(text, "flotilla_rollout_step_percent", Labels(("group", r.Group), ("version", r.Version.ToString(CultureInfo.InvariantCulture))), r.StepPercent);
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
        Counter(text, perModel, "flotilla_model_failures_total", "Invocations the model could not answer (5xx); callers' bad rows are not counted.", m => m.Failures);

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

    /// <summary>Per shadow version (labels group and version): copies, drops, failures, agreement, probability difference, latency.</summary>
    private static void WriteShadows(StringBuilder text, IReadOnlyList<Contracts.ShadowView> shadows)
    {
        void Each(string name, string type, string help, Func<Contracts.ShadowView, double> value)
        {
            Family(text, name, type, help);
            foreach (var s in shadows)
            {
                Sample(text, name, Labels(("group", s.Group), ("version", s.Version.ToString(CultureInfo.InvariantCulture))), value(s));
            }
        }
        Each("flotilla_shadow_calls_total", "counter", "Calls copied to a shadow version.", s => s.Calls);
        Each("flotilla_shadow_dropped_total", "counter", "Shadow copies dropped because the shadow queue was full.", s => s.Dropped);
        Each("flotilla_shadow_failures_total", "counter", "Shadow copies the shadow version could not score.", s => s.Failed);
        Each("flotilla_shadow_rows_total", "counter", "Rows compared between a shadow version and the answers given.", s => s.Rows);
        Each("flotilla_shadow_agreement_ratio", "gauge", "Share of compared rows where the shadow gave the same label.", s => s.Agreement);
        Each("flotilla_shadow_probability_difference_mean", "gauge", "Mean absolute probability difference between shadow and answer.", s => s.MeanProbabilityDifference);
        Each("flotilla_shadow_probability_difference_p99", "gauge", "99th percentile of the absolute probability difference (bucket upper bound).", s => s.P99ProbabilityDifference);
        Each("flotilla_shadow_latency_p99_seconds", "gauge", "99th percentile of the shadow version's scoring latency.", s => s.P99LatencyMilliseconds / 1000);
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
