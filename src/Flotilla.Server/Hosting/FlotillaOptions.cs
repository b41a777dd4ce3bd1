using System.ComponentModel.DataAnnotations;
using Flotilla.Storage;
using Microsoft.Extensions.Options;

namespace Flotilla.Server.Hosting;

public enum DeploymentShape { Embedded, Cluster }

/// <summary>
/// Configuration section "Flotilla"; validated at start-up so bad settings fail at boot. The storage settings
/// (<see cref="DataDirectory"/>, <see cref="PostgresConnectionString"/>, <see cref="S3"/>) are the same keys
/// <see cref="StorageOptions"/> binds; they are here for the parts of the server that need the shape as a whole.
/// </summary>
public sealed class FlotillaOptions
{
    public const string Section = "Flotilla";

    /// <summary>Embedded: SQLite file and artifact folder under <see cref="DataDirectory"/>, one silo in process.</summary>
    public DeploymentShape Shape { get; set; } = DeploymentShape.Embedded;

    [Required]
    public string DataDirectory { get; set; } = StorageOptions.DefaultDataDirectory;

    /// <summary>PostgreSQL connection string, required in cluster mode.</summary>
    public string? PostgresConnectionString { get; set; }

    /// <summary>Artifacts in an S3-compatible bucket (Flotilla:S3:Bucket, ServiceUrl, Region, AccessKey, SecretKey, Prefix)
    /// instead of the folder under <see cref="DataDirectory"/>.</summary>
    public S3ArtifactOptions S3 { get; set; } = new();

    /// <summary>Largest request body accepted, in bytes, on every route but the invocation doors (uploads included).</summary>
    [Range(1024, long.MaxValue)]
    public long MaxRequestBodyBytes { get; set; } = 64L * 1024 * 1024;
}

/// <summary>The cluster shape needs its shared database: say so at start, naming both settings.</summary>
internal sealed class FlotillaOptionsValidator : IValidateOptions<FlotillaOptions>
{
    public ValidateOptionsResult Validate(string? name, FlotillaOptions options) =>
        options.Shape == DeploymentShape.Cluster && string.IsNullOrWhiteSpace(options.PostgresConnectionString)
            ? ValidateOptionsResult.Fail(
                "Flotilla:Shape is Cluster but Flotilla:PostgresConnectionString is empty: set it to the cluster's PostgreSQL database " +
                "(Host=...;Database=...;Username=...;Password=...), or use the Embedded shape.")
            : ValidateOptionsResult.Success;
}
