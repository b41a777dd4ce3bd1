using System.Net;
using Amazon.S3;

namespace Flotilla.Storage.Artifacts;

/// <summary>
/// Reads objects named by <c>s3://bucket/key</c> URIs (datasets kept in a bucket), through the endpoint and
/// credentials of the storage's S3 settings (<c>Flotilla:S3:ServiceUrl</c>, <c>Region</c>, <c>AccessKey</c>,
/// <c>SecretKey</c>; the SDK's default chain when no keys are set). Which buckets may be read is the caller's rule.
/// </summary>
public sealed class S3ObjectSource(S3ArtifactOptions options) : IDisposable
{
    private readonly Lazy<AmazonS3Client> _client = new(() => S3ArtifactStore.CreateClient(options));

    /// <summary>Splits <c>s3://bucket/key</c>; false for anything else (another scheme, no key).</summary>
    public static bool TryParse(string? text, out string bucket, out string key)
    {
        bucket = key = "";
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme != "s3" || string.IsNullOrEmpty(uri.Host))
            return false;
        bucket = uri.Host;
        key = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        return key.Length > 0;
    }

    /// <summary>Opens the object; throws <see cref="ObjectNotFoundException"/> if there is none.</summary>
    public async Task<Stream> OpenAsync(string bucket, string key, CancellationToken cancellationToken)
    {
        try
        {
            var response = await _client.Value.GetObjectAsync(bucket, key, cancellationToken);
            return new S3ArtifactStore.ResponseStream(response);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new ObjectNotFoundException(key, $"bucket s3://{bucket}");
        }
    }

    public void Dispose()
    {
        if (_client.IsValueCreated)
            _client.Value.Dispose();
    }
}
