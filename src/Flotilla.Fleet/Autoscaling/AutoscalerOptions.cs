using Microsoft.Extensions.Options;

namespace Flotilla.Fleet.Autoscaling;

/// <summary>
/// Configuration section "Flotilla:Fleet:Autoscaler": adds or removes instances so that each serves about
/// <see cref="TargetInvocationsPerInstancePerSecond"/>. Off by default; needs the cluster shape.
/// </summary>
public sealed class AutoscalerOptions
{
    public const string Section = "Flotilla:Fleet:Autoscaler";

    public bool Enabled { get; set; }

    /// <summary>Invocations per second one instance should serve; desired instances = ceil(total rate / this).</summary>
    public double TargetInvocationsPerInstancePerSecond { get; set; } = 100;

    public int MinInstances { get; set; } = 1;

    public int MaxInstances { get; set; } = 4;

    /// <summary>How often the fleet's counters are sampled and a decision is taken; the rate is measured over this window.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Scale in only to the highest count recommended during this window, so a short lull does not remove an
    /// instance the next burst needs (scaling out is immediate).
    /// </summary>
    public TimeSpan ScaleInStabilisationWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Executable that starts one more server (a <c>flotilla</c> CLI); default: <c>dotnet flotilla.dll</c> next to this assembly.</summary>
    public string? Command { get; set; }
}

/// <summary>Fails the start with a message naming the setting, rather than a wrong scaling decision later.</summary>
internal sealed class AutoscalerOptionsValidator : IValidateOptions<AutoscalerOptions>
{
    public ValidateOptionsResult Validate(string? name, AutoscalerOptions options)
    {
        List<string> errors = [];
        if (!(options.TargetInvocationsPerInstancePerSecond > 0) || double.IsInfinity(options.TargetInvocationsPerInstancePerSecond))
        {
            errors.Add($"{AutoscalerOptions.Section}:TargetInvocationsPerInstancePerSecond must be a positive number (was {options.TargetInvocationsPerInstancePerSecond}).");
        }
        if (options.MinInstances < 1)
        {
            errors.Add($"{AutoscalerOptions.Section}:MinInstances must be at least 1, the server that runs the autoscaler (was {options.MinInstances}).");
        }
        if (options.MaxInstances < options.MinInstances)
        {
            errors.Add($"{AutoscalerOptions.Section}:MaxInstances must be at least MinInstances (were {options.MaxInstances} and {options.MinInstances}).");
        }
        if (options.Interval < TimeSpan.FromMilliseconds(100))
        {
            errors.Add($"{AutoscalerOptions.Section}:Interval must be at least 100 ms (was {options.Interval}).");
        }
        if (options.ScaleInStabilisationWindow < TimeSpan.Zero)
        {
            errors.Add($"{AutoscalerOptions.Section}:ScaleInStabilisationWindow must not be negative (was {options.ScaleInStabilisationWindow}).");
        }
        if (options.Command is { } command && string.IsNullOrWhiteSpace(command))
        {
            errors.Add($"{AutoscalerOptions.Section}:Command must name an executable when set (was blank).");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
