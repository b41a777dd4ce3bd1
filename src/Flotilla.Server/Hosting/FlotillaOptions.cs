using System.ComponentModel.DataAnnotations;
using Flotilla.Storage;

namespace Flotilla.Server.Hosting;

public enum DeploymentShape { Embedded, Cluster }

/// <summary>Configuration section "Flotilla"; validated at start-up so bad settings fail at boot.</summary>
public sealed class FlotillaOptions
{
    public const string Section = "Flotilla";

    /// <summary>Embedded: SQLite file and artifact folder under <see cref="DataDirectory"/>, one silo in process.</summary>
    public DeploymentShape Shape { get; set; } = DeploymentShape.Embedded;

    [Required]
    public string DataDirectory { get; set; } = Path.Combine(Environment.CurrentDirectory, ".data");

    /// <summary>PostgreSQL connection string, required in cluster mode.</summary>
    public string? PostgresConnectionString { get; set; }

    /// <summary>Artifacts in an S3-compatible bucket (Flotilla:S3:Bucket, ServiceUrl, Region, AccessKey, SecretKey, Prefix)
    /// instead of the folder under <see cref="DataDirectory"/>.</summary>
    public S3ArtifactOptions S3 { get; set; } = new();

    /// <summary>Largest request body accepted, in bytes (uploads and invocations).</summary>
    [Range(1024, long.MaxValue)]
    public long MaxRequestBodyBytes { get; set; } = 64L * 1024 * 1024;
}
