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

/// <summary>
/// The cluster shape needs what its servers share, the database and the artifact store: say so at start, naming
/// the settings. Without a bucket each server would keep artifacts, datasets and step files in its own folder,
/// which the others cannot read.
/// </summary>
internal sealed class FlotillaOptionsValidator : IValidateOptions<FlotillaOptions>
{
    public ValidateOptionsResult Validate(string? name, FlotillaOptions options)
    {
        if (options.Shape != DeploymentShape.Cluster)
            return ValidateOptionsResult.Success;
        List<string> errors = [];
        if (string.IsNullOrWhiteSpace(options.PostgresConnectionString))
        {
            errors.Add("Flotilla:Shape is Cluster but Flotilla:PostgresConnectionString is empty: set it to the cluster's PostgreSQL database " +
                "(Host=...;Database=...;Username=...;Password=...), or use the Embedded shape.");
        }
        if (string.IsNullOrWhiteSpace(options.S3.Bucket))
        {
            errors.Add("Flotilla:Shape is Cluster but Flotilla:S3:Bucket is empty: the servers of a cluster share datasets, step files and models " +
                "through an S3-compatible bucket (Flotilla:S3:Bucket, Flotilla:S3:ServiceUrl, Flotilla:S3:AccessKey, Flotilla:S3:SecretKey); " +
                "a local folder would be seen by one server only. Set them, or use the Embedded shape.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
