using System.Net;
using System.Runtime.CompilerServices;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Flotilla.Storage.Artifacts;

/// <summary>
/// Objects as <c>&lt;prefix&gt;&lt;key&gt;</c> in an S3 or S3-compatible bucket; content-addressed artifacts are the keys
/// <c>sha256/ab/abcdef…</c>. The content is copied into a local temporary file first (hashed on the way, and S3
/// needs the length); one PUT then makes the object appear whole.
/// Uploads are sent without chunked encoding and without trailing checksums: several S3-compatible stores
/// accept chunked uploads but store the chunk framing as data.
/// </summary>
public sealed class S3ArtifactStore : IArtifactStore, IDisposable
{
    private readonly AmazonS3Client _client;
    private readonly string _bucket;
    private readonly string _prefix;

    public S3ArtifactStore(S3ArtifactOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Bucket, "Flotilla:S3:Bucket");
        _bucket = options.Bucket;
        _prefix = options.Prefix.Length == 0 || options.Prefix.EndsWith('/') ? options.Prefix : options.Prefix + "/";
        _client = CreateClient(options);
    }

    /// <summary>A client for the endpoint and credentials of <paramref name="options"/> (path-style, checksums only when required).</summary>
    internal static AmazonS3Client CreateClient(S3ArtifactOptions options)
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = true,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (string.IsNullOrWhiteSpace(options.ServiceUrl))
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }
        else
        {
            config.ServiceURL = options.ServiceUrl;
            config.AuthenticationRegion = options.Region;
        }
        return string.IsNullOrEmpty(options.AccessKey)
            ? new AmazonS3Client(config)
            : new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey), config);
    }

    public async Task<ArtifactRef> PutAsync(Stream content, CancellationToken cancellationToken)
    {
        var temporary = Path.Combine(Path.GetTempPath(), $"flotilla-s3-{Guid.NewGuid():N}.tmp");
        try
        {
            string sha256;
            long size;
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
                (sha256, size) = await ArtifactHash.CopyAndHashAsync(content, file, cancellationToken);
            if (!await ExistsAsync(sha256, cancellationToken))
            {
                await _client.PutObjectAsync(new PutObjectRequest
                {
                    BucketName = _bucket,
                    Key = KeyOf(sha256),
                    FilePath = temporary,
                    ContentType = "application/octet-stream",
                    UseChunkEncoding = false,
                }, cancellationToken);
            }
            return new ArtifactRef(sha256, size, ArtifactRef.LocationOf(sha256));
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    public async Task<Stream> OpenReadAsync(string sha256, CancellationToken cancellationToken)
    {
        var key = KeyOf(ArtifactHash.Normalize(sha256));
        try
        {
            var response = await _client.GetObjectAsync(_bucket, key, cancellationToken);
            return new ResponseStream(response);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new ArtifactNotFoundException(sha256, ToString());
        }
    }

    public async Task<bool> ExistsAsync(string sha256, CancellationToken cancellationToken)
    {
        try
        {
            await _client.GetObjectMetadataAsync(_bucket, KeyOf(ArtifactHash.Normalize(sha256)), cancellationToken);
            return true;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    public async Task<ArtifactRef> PutObjectAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        var objectKey = _prefix + ArtifactKey.Validate(key);
        var temporary = Path.Combine(Path.GetTempPath(), $"flotilla-s3-{Guid.NewGuid():N}.tmp");
        try
        {
            string sha256;
            long size;
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
                (sha256, size) = await ArtifactHash.CopyAndHashAsync(content, file, cancellationToken);
            await _client.PutObjectAsync(new PutObjectRequest
            {
                BucketName = _bucket,
                Key = objectKey,
                FilePath = temporary,
                ContentType = "application/octet-stream",
                UseChunkEncoding = false,
            }, cancellationToken);
            return new ArtifactRef(sha256, size, new Uri(key, UriKind.Relative));
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    public async Task<Stream> OpenObjectAsync(string key, CancellationToken cancellationToken)
    {
        var objectKey = _prefix + ArtifactKey.Validate(key);
        try
        {
            var response = await _client.GetObjectAsync(_bucket, objectKey, cancellationToken);
            return new ResponseStream(response);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new ObjectNotFoundException(key, ToString());
        }
    }

    public async Task<StoredObject?> FindObjectAsync(string key, CancellationToken cancellationToken)
    {
        var objectKey = _prefix + ArtifactKey.Validate(key);
        try
        {
            var metadata = await _client.GetObjectMetadataAsync(_bucket, objectKey, cancellationToken);
            return new StoredObject(key, metadata.ContentLength, ToOffset(metadata.LastModified));
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async IAsyncEnumerable<StoredObject> ListObjectsAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var request = new ListObjectsV2Request { BucketName = _bucket, Prefix = _prefix + ArtifactKey.ValidatePrefix(prefix) };
        do
        {
            var page = await _client.ListObjectsV2Async(request, cancellationToken);
            foreach (var entry in page.S3Objects ?? [])
                yield return new StoredObject(entry.Key[_prefix.Length..], entry.Size ?? 0, ToOffset(entry.LastModified));
            request.ContinuationToken = page.NextContinuationToken;
        }
        while (!string.IsNullOrEmpty(request.ContinuationToken));
    }

    public async Task<bool> DeleteObjectAsync(string key, CancellationToken cancellationToken)
    {
        // S3 answers a delete of a missing key with success, so whether one was there needs a look first.
        if (await FindObjectAsync(key, cancellationToken) is null)
            return false;
        await _client.DeleteObjectAsync(_bucket, _prefix + key, cancellationToken);
        return true;
    }

    public override string ToString() => $"bucket s3://{_bucket}/{_prefix}";

    private static DateTimeOffset ToOffset(DateTime? lastModified) =>
        lastModified is { } value ? new DateTimeOffset(value.ToUniversalTime(), TimeSpan.Zero) : DateTimeOffset.MinValue;

    public void Dispose() => _client.Dispose();

    private string KeyOf(string sha256) => _prefix + ArtifactRef.LocationOf(sha256).OriginalString;

    /// <summary>The object's body; disposing it releases the HTTP response too.</summary>
    internal sealed class ResponseStream(GetObjectResponse response) : Stream
    {
        private readonly Stream _inner = response.ResponseStream;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => response.ContentLength;
        public override long Position { get => _inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(buffer, cancellationToken);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _inner.ReadAsync(buffer, offset, count, cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                response.Dispose();
            base.Dispose(disposing);
        }
    }
}
