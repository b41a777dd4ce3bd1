using Microsoft.Extensions.Options;

namespace Flotilla.Fleet;

/// <summary>Configuration section "Flotilla:Fleet": the endpoint's memory budget and limits, validated at start-up.</summary>
public sealed class FleetOptions
{
    public const string Section = "Flotilla:Fleet";

    /// <summary>
    /// Bytes of loaded models one silo may hold. When a load would exceed it, the least recently used models
    /// are evicted; a model larger than the whole budget is refused. Default: a quarter of the memory the GC
    /// reports as available to this process.
    /// </summary>
    public long MemoryBudgetBytes { get; set; } = DefaultBudget();

    /// <summary>Largest invocation body accepted, in bytes (SageMaker's multi-model endpoints allow 6 MB).</summary>
    public long MaxInvocationBytes { get; set; } = 6L * 1024 * 1024;

    /// <summary>Orleans cluster identity; silos with the same ids form one fleet.</summary>
    public string ClusterId { get; set; } = "flotilla";

    public string ServiceId { get; set; } = "flotilla";

    /// <summary>Silo-to-silo port in cluster mode (embedded mode uses loopback defaults).</summary>
    public int SiloPort { get; set; } = 11111;

    public int GatewayPort { get; set; } = 30000;

    /// <summary>Address other silos reach this one at, in cluster mode; default: this host's first address.</summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>How often each process re-reads the alias map from the metadata store, as a backstop to pushed changes.</summary>
    public TimeSpan AliasRefreshInterval { get; set; } = TimeSpan.FromSeconds(30);

    private static long DefaultBudget()
    {
        var available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return available > 0 ? available / 4 : 1L << 30;
    }
}

/// <summary>Fails the start with a message naming the setting, rather than the first request.</summary>
internal sealed class FleetOptionsValidator : IValidateOptions<FleetOptions>
{
    public ValidateOptionsResult Validate(string? name, FleetOptions options)
    {
        List<string> errors = [];
        if (options.MemoryBudgetBytes <= 0)
        {
            errors.Add($"Flotilla:Fleet:MemoryBudgetBytes must be positive (was {options.MemoryBudgetBytes}).");
        }
        if (options.MaxInvocationBytes < 64)
        {
            errors.Add($"Flotilla:Fleet:MaxInvocationBytes must be at least 64 bytes (was {options.MaxInvocationBytes}).");
        }
        if (string.IsNullOrWhiteSpace(options.ClusterId) || string.IsNullOrWhiteSpace(options.ServiceId))
        {
            errors.Add("Flotilla:Fleet:ClusterId and Flotilla:Fleet:ServiceId must not be empty.");
        }
        if (options.SiloPort is < 0 or > 65535 || options.GatewayPort is < 0 or > 65535)
        {
            errors.Add($"Flotilla:Fleet:SiloPort and GatewayPort must be between 0 and 65535 (were {options.SiloPort} and {options.GatewayPort}).");
        }
        if (options.AliasRefreshInterval <= TimeSpan.Zero)
        {
            errors.Add($"Flotilla:Fleet:AliasRefreshInterval must be positive (was {options.AliasRefreshInterval}).");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
