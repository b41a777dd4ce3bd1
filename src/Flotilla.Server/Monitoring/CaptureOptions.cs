using System.ComponentModel.DataAnnotations;

namespace Flotilla.Server.Monitoring;

/// <summary>
/// Request capture (section <c>Flotilla:Endpoint:Capture</c>): which share of invocations is kept, as JSON lines
/// in the artifact store, and the bounds that keep it from ever slowing or failing an invocation.
/// </summary>
public sealed class CaptureOptions
{
    public const string Section = "Flotilla:Endpoint:Capture";

    /// <summary>Share of invocations captured, in percent, for groups without their own setting (PUT /api/endpoint/groups/{group}/capture).</summary>
    [Range(0.0, 100.0)]
    public double Percent { get; set; }

    /// <summary>Captured calls waiting to be written; when it is full, further ones are dropped and counted.</summary>
    [Range(1, 10_000_000)]
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary>A batch is written once this many calls wait (or <see cref="FlushInterval"/> passed).</summary>
    [Range(1, 1_000_000)]
    public int BatchRecords { get; set; } = 1_000;

    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Stored capture per group; past it the oldest batches are deleted.</summary>
    [Range(1024L, long.MaxValue)]
    public long MaxBytesPerGroup { get; set; } = 1L << 30;

    /// <summary>How often per-group settings made on other servers are re-read.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan SettingsRefreshInterval { get; set; } = TimeSpan.FromSeconds(5);
}
