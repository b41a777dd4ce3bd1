using System.Security.Cryptography;
using System.Text;
using Flotilla.Storage.Artifacts;

namespace Flotilla.Storage.Tests;

public sealed class FolderArtifactStoreSuite : ArtifactStoreSuite, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("flotilla-artifacts-").FullName;

    protected override IArtifactStore Store => new FolderArtifactStore(_root);

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}

public sealed class S3ArtifactStoreSuite(S3rverServer s3) : ArtifactStoreSuite, IClassFixture<S3rverServer>
{
    // A fresh prefix per test keeps tests independent inside the one bucket.
    private readonly string _prefix = $"t{Guid.NewGuid():N}/";

    protected override IArtifactStore Store => new S3ArtifactStore(new S3ArtifactOptions
    {
        Bucket = S3rverServer.Bucket,
        Prefix = _prefix,
        ServiceUrl = s3.ServiceUrl,
        AccessKey = "S3RVER",
        SecretKey = "S3RVER",
    });

    [Fact]
    public async Task A_missing_bucket_is_reported_not_hidden()
    {
        using var store = new S3ArtifactStore(new S3ArtifactOptions
        {
            Bucket = "no-such-bucket", ServiceUrl = s3.ServiceUrl, AccessKey = "S3RVER", SecretKey = "S3RVER",
        });

        await Assert.ThrowsAnyAsync<Amazon.S3.AmazonS3Exception>(() => store.PutAsync(Encoding.UTF8.GetBytes("x"), CancellationToken.None));
    }
}

/// <summary>The artifact store's contract, run on the folder and on an S3-compatible server.</summary>
public abstract class ArtifactStoreSuite
{
    protected abstract IArtifactStore Store { get; }

    [Fact]
    public async Task Content_is_stored_under_its_sha256_and_read_back_verified()
    {
        var store = Store;
        var bytes = RandomNumberGenerator.GetBytes(300_000);

        var stored = await store.PutAsync(bytes, CancellationToken.None);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), stored.Sha256);
        Assert.Equal(bytes.Length, stored.Size);
        Assert.Contains(stored.Sha256, stored.Uri.ToString());
        Assert.True(await store.ExistsAsync(stored.Sha256.ToUpperInvariant(), CancellationToken.None));
        Assert.Equal(bytes, await store.ReadVerifiedAsync(stored.Sha256, CancellationToken.None));
        await using var stream = await store.OpenReadAsync(stored.Sha256, CancellationToken.None);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        Assert.Equal(bytes, copy.ToArray());
    }

    [Fact]
    public async Task Storing_the_same_bytes_from_many_writers_at_once_gives_one_reference()
    {
        var store = Store;
        var bytes = RandomNumberGenerator.GetBytes(64 * 1024);

        var refs = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => store.PutAsync(bytes, CancellationToken.None))));

        Assert.Single(refs.Distinct());
        Assert.Equal(bytes, await store.ReadVerifiedAsync(refs[0].Sha256, CancellationToken.None));
    }

    [Fact]
    public async Task A_missing_artifact_and_a_malformed_hash_are_named()
    {
        var store = Store;
        var missing = new string('b', 64);

        var notFound = await Assert.ThrowsAsync<ArtifactNotFoundException>(() => store.OpenReadAsync(missing, CancellationToken.None));
        var malformed = await Assert.ThrowsAsync<ArgumentException>(() => store.ExistsAsync("../../etc/passwd", CancellationToken.None));

        Assert.Contains(missing, notFound.Message);
        Assert.Contains(store.ToString()!, notFound.Message);
        Assert.Contains("../../etc/passwd", malformed.Message);
        Assert.False(await store.ExistsAsync(missing, CancellationToken.None));
    }
}
