using Microsoft.Extensions.Options;

namespace Flotilla.Storage;

/// <summary>
/// Where the metadata and the artifacts live. Embedded by default: both under <see cref="DataDirectory"/>.
/// The server binds it from the "Flotilla" section (<c>Flotilla:DataDirectory</c>, <c>Flotilla:PostgresConnectionString</c>,
/// <c>Flotilla:S3:*</c>).
/// </summary>
public sealed class StorageOptions
{
    /// <summary>The data folder when none is configured: <c>.data</c> under the current folder. Written here only.</summary>
    public static string DefaultDataDirectory => Path.Combine(Environment.CurrentDirectory, ".data");

    /// <summary>Holds <c>flotilla.db</c> (SQLite) and <c>artifacts/</c> unless the cluster settings below are given.</summary>
    public string DataDirectory { get; set; } = DefaultDataDirectory;

    /// <summary>When set, metadata goes to this PostgreSQL database instead of the SQLite file.</summary>
    public string? PostgresConnectionString { get; set; }

    /// <summary>When <see cref="S3ArtifactOptions.Bucket"/> is set, artifacts go to that bucket instead of the folder.</summary>
    public S3ArtifactOptions S3 { get; set; } = new();

    public string SqlitePath => Path.Combine(DataDirectory, "flotilla.db");

    public string ArtifactDirectory => Path.Combine(DataDirectory, "artifacts");

    /// <summary>This machine's copies of store objects it read (<see cref="Artifacts.ArtifactCache"/>); safe to delete while stopped.</summary>
    public string CacheDirectory => Path.Combine(DataDirectory, "cache");

    /// <summary>Whether artifacts go to a bucket every server can reach rather than this machine's folder.</summary>
    public bool HasSharedArtifactStore => !string.IsNullOrWhiteSpace(S3.Bucket);
}

/// <summary>An S3 or S3-compatible bucket (MinIO, Ceph, s3rver…); addressed path-style.</summary>
public sealed class S3ArtifactOptions
{
    public string? Bucket { get; set; }

    /// <summary>Key prefix inside the bucket, e.g. "flotilla/"; empty for the bucket root.</summary>
    public string Prefix { get; set; } = "";

    /// <summary>Endpoint of an S3-compatible store, e.g. http://127.0.0.1:9000; empty for AWS itself.</summary>
    public string? ServiceUrl { get; set; }

    public string Region { get; set; } = "us-east-1";

    /// <summary>Static credentials; when empty the SDK's default chain (environment, profile, instance role) is used.</summary>
    public string? AccessKey { get; set; }

    public string? SecretKey { get; set; }
}

/// <summary>Fails the start with a message naming the setting, rather than the first read of the store.</summary>
internal sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        return string.IsNullOrWhiteSpace(options.DataDirectory)
            ? ValidateOptionsResult.Fail("Flotilla:DataDirectory must name a folder for the metadata, artifacts and work files (it was empty).")
            : ValidateOptionsResult.Success;
    }
}
