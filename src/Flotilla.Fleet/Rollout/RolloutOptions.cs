using Microsoft.Extensions.Options;

namespace Flotilla.Fleet.Rollout;

/// <summary>Configuration section "Flotilla:Fleet:Rollout": how often canary rollouts are checked and moved on.</summary>
public sealed class RolloutOptions
{
    public const string Section = "Flotilla:Fleet:Rollout";

    /// <summary>How often each server wakes the deployers of groups with a rollout in progress (a step's bake is checked then).</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>Fails the start with a message naming the setting.</summary>
internal sealed class RolloutOptionsValidator : IValidateOptions<RolloutOptions>
{
    public ValidateOptionsResult Validate(string? name, RolloutOptions options) =>
        options.CheckInterval >= TimeSpan.FromMilliseconds(50) && options.CheckInterval <= TimeSpan.FromHours(1)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"{RolloutOptions.Section}:CheckInterval must be from 00:00:00.05 to 01:00:00 (was {options.CheckInterval}).");
}
