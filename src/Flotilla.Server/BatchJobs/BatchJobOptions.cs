using System.ComponentModel.DataAnnotations;

namespace Flotilla.Server.BatchJobs;

/// <summary>Configuration section <c>Flotilla:BatchJobs</c>.</summary>
public sealed class BatchJobOptions
{
    public const string Section = "Flotilla:BatchJobs";

    /// <summary>Jobs this server scores at once, each on one thread: the cores left for live invocations are the rest.</summary>
    [Range(1, 2)]
    public int MaxConcurrentJobs { get; set; } = 1;

    /// <summary>Records scored between two reads of the input and writes of the output.</summary>
    [Range(64, 1_000_000)]
    public int ChunkRows { get; set; } = 8192;

    /// <summary>How often a running job writes its progress (and so shows it is alive).</summary>
    [Range(0.05, 60)]
    public double ProgressSeconds { get; set; } = 0.5;

    /// <summary>A running job without progress for this long is failed by any server: the server running it died.</summary>
    [Range(1, 3600)]
    public double StaleAfterSeconds { get; set; } = 60;

    /// <summary>How often an idle worker looks for jobs queued through another server.</summary>
    [Range(0.1, 60)]
    public double PollSeconds { get; set; } = 2;
}
