namespace Flotilla.Fleet.Autoscaling;

/// <summary>One autoscaling decision: what was measured, what was recommended, what is wanted, and why.</summary>
public sealed record AutoscaleDecision(
    int Current,
    int Desired,
    int Recommended,
    double RatePerInstance,
    string Reason,
    DateTimeOffset At);

/// <summary>
/// The autoscaler's decision, pure and deterministic: desired = ceil(total rate / target), clamped to
/// [min, max]. Scaling out happens at once; scaling in goes no lower than the highest recommendation of the
/// stabilisation window, and only once decisions cover the whole window (so a restart cannot scale in early).
/// </summary>
public sealed class AutoscalePolicy(AutoscalerOptions options)
{
    public AutoscaleDecision Decide(int current, double ratePerInstance, DateTimeOffset now, IReadOnlyList<AutoscaleDecision> history)
    {
        var total = Math.Max(0, ratePerInstance) * Math.Max(0, current);
        var recommended = Math.Clamp((int)Math.Ceiling(total / options.TargetInvocationsPerInstancePerSecond), options.MinInstances, options.MaxInstances);
        if (recommended >= current)
        {
            var reason = recommended == current ? "steady"
                : current < options.MinInstances ? $"below the minimum of {options.MinInstances}"
                : $"{total:0.##} invocations/s exceed {current} x {options.TargetInvocationsPerInstancePerSecond:0.##}";
            return new AutoscaleDecision(current, recommended, recommended, ratePerInstance, reason, now);
        }
        if (current > options.MaxInstances)
        {
            return new AutoscaleDecision(current, options.MaxInstances, recommended, ratePerInstance, $"above the maximum of {options.MaxInstances}", now);
        }
        var windowStart = now - options.ScaleInStabilisationWindow;
        if (options.ScaleInStabilisationWindow > TimeSpan.Zero && !history.Any(d => d.At <= windowStart))
        {
            return new AutoscaleDecision(current, current, recommended, ratePerInstance,
                $"rate is low, waiting for a full {options.ScaleInStabilisationWindow} window before scaling in", now);
        }
        var stabilised = history.Where(d => d.At > windowStart).Select(d => d.Recommended).Append(recommended).Max();
        var desired = Math.Min(current, stabilised);
        return desired < current
            ? new AutoscaleDecision(current, desired, recommended, ratePerInstance,
                $"rate stayed at or below {desired} x target for {options.ScaleInStabilisationWindow}", now)
            : new AutoscaleDecision(current, current, recommended, ratePerInstance,
                $"rate dropped less than {options.ScaleInStabilisationWindow} ago; holding", now);
    }

    /// <summary>The decisions the next call still needs: those inside the window and the newest one before it.</summary>
    public List<AutoscaleDecision> Trim(List<AutoscaleDecision> history, DateTimeOffset now)
    {
        var windowStart = now - options.ScaleInStabilisationWindow;
        var lastBefore = history.FindLastIndex(d => d.At <= windowStart);
        return lastBefore <= 0 ? history : history[lastBefore..];
    }
}
