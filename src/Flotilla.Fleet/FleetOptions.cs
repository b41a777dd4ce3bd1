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

    /// <summary>
    /// Longest an invocation waits for a silo, retries on other silos included; past it the caller gets 503 with
    /// Retry-After. Invocations only: other grain calls (trials, deployments) keep Orleans' own timeout.
    /// </summary>
    public TimeSpan InvocationTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Longest one attempt of an invocation waits before it is tried on the model's next silo. Shorter than
    /// <see cref="InvocationTimeout"/>, so a call caught by a silo that stopped answering still has time for a second try.
    /// </summary>
    public TimeSpan InvocationAttemptTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a front door sends no calls to a silo that failed one, unless membership says it is active again sooner.</summary>
    public TimeSpan SuspectSiloFor { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Calls a second through one front door to a model held on another silo that make the model hot: the door's
    /// silo then loads a copy of its own (within its memory budget) and scores it locally. 0: never copy.
    /// </summary>
    public int HotModelCallsPerSecond { get; set; } = 200;

    /// <summary>
    /// Silos besides its home that load a deployed model when it is deployed: the next ones of its ranking, where
    /// its calls go if the home dies, so a failover waits for no load. 0: the home only (half the memory).
    /// </summary>
    public int StandbyCopies { get; set; } = 1;

    /// <summary>
    /// Cluster shape: how long a silo waits for a liveness probe's answer. With <see cref="MissedProbesLimit"/>,
    /// how soon a silo that stopped answering (killed, cut off) is declared dead; Orleans adapts it between half
    /// and four times this value from the answers it sees, and extends it while the probing silo is itself starved.
    /// </summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Cluster shape: missed probes in a row after which a silo votes another dead.</summary>
    public int MissedProbesLimit { get; set; } = 3;

    /// <summary>
    /// Shadow copies waiting to be scored in one process; a copy offered to a full queue is dropped and counted,
    /// so a slow shadow never holds a caller.
    /// </summary>
    public int ShadowQueueCapacity { get; set; } = 1024;

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
        if (options.ShadowQueueCapacity < 1)
        {
            errors.Add($"Flotilla:Fleet:ShadowQueueCapacity must be at least 1 (was {options.ShadowQueueCapacity}).");
        }
        if (options.AliasRefreshInterval <= TimeSpan.Zero)
        {
            errors.Add($"Flotilla:Fleet:AliasRefreshInterval must be positive (was {options.AliasRefreshInterval}).");
        }
        if (options.InvocationTimeout <= TimeSpan.Zero || options.InvocationAttemptTimeout <= TimeSpan.Zero ||
            options.InvocationAttemptTimeout > options.InvocationTimeout)
        {
            errors.Add($"Flotilla:Fleet:InvocationTimeout and InvocationAttemptTimeout must be positive, the attempt no longer than the invocation " +
                $"(were {options.InvocationTimeout} and {options.InvocationAttemptTimeout}).");
        }
        if (options.SuspectSiloFor <= TimeSpan.Zero)
        {
            errors.Add($"Flotilla:Fleet:SuspectSiloFor must be positive (was {options.SuspectSiloFor}).");
        }
        if (options.StandbyCopies is < 0 or > 8)
        {
            errors.Add($"Flotilla:Fleet:StandbyCopies must be from 0 to 8 (was {options.StandbyCopies}).");
        }
        if (options.HotModelCallsPerSecond < 0)
        {
            errors.Add($"Flotilla:Fleet:HotModelCallsPerSecond must be 0 (never copy) or more (was {options.HotModelCallsPerSecond}).");
        }
        if (options.ProbeTimeout < TimeSpan.FromMilliseconds(100) || options.MissedProbesLimit < 1)
        {
            errors.Add($"Flotilla:Fleet:ProbeTimeout must be at least 100 ms and MissedProbesLimit at least 1 (were {options.ProbeTimeout} and {options.MissedProbesLimit}).");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
