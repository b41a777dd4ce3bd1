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

    [Fact]
    public async Task Named_objects_are_put_opened_listed_by_prefix_and_deleted()
    {
        var store = Store;
        foreach (var key in new[] { "runs/b/2.jsonl", "runs/a/1.jsonl", "runs/ab/3.jsonl", "other/4.jsonl" })
            await store.PutObjectAsync(key, Encoding.UTF8.GetBytes(key), CancellationToken.None);

        var folder = await store.ListObjectsAsync("runs/a/", CancellationToken.None).ToListAsync();
        var partial = await store.ListObjectsAsync("runs/a", CancellationToken.None).ToListAsync();
        var all = await store.ListObjectsAsync("", CancellationToken.None).ToListAsync();

        Assert.Equal(["runs/a/1.jsonl"], folder.Select(o => o.Key));
        Assert.Equal(["runs/a/1.jsonl", "runs/ab/3.jsonl"], partial.Select(o => o.Key));
        Assert.Equal(["other/4.jsonl", "runs/a/1.jsonl", "runs/ab/3.jsonl", "runs/b/2.jsonl"], all.Select(o => o.Key));
        Assert.Equal("runs/a/1.jsonl".Length, folder[0].Size);
        Assert.Equal("runs/b/2.jsonl", Encoding.UTF8.GetString(await store.ReadObjectAsync("runs/b/2.jsonl", CancellationToken.None)));

        Assert.True(await store.DeleteObjectAsync("runs/b/2.jsonl", CancellationToken.None));
        Assert.False(await store.DeleteObjectAsync("runs/b/2.jsonl", CancellationToken.None));
        Assert.Null(await store.FindObjectAsync("runs/b/2.jsonl", CancellationToken.None));
        var missing = await Assert.ThrowsAsync<ObjectNotFoundException>(() => store.OpenObjectAsync("runs/b/2.jsonl", CancellationToken.None));
        Assert.Contains("runs/b/2.jsonl", missing.Message);
        Assert.Empty(await store.ListObjectsAsync("runs/b", CancellationToken.None).ToListAsync());
    }

    [Fact]
    public async Task A_put_replaces_the_object_under_its_key_whole_and_returns_its_hash()
    {
        var store = Store;
        var first = RandomNumberGenerator.GetBytes(100_000);
        var second = RandomNumberGenerator.GetBytes(70_000);

        await store.PutObjectAsync("reports/r.bin", first, CancellationToken.None);
        var stored = await store.PutObjectAsync("reports/r.bin", second, CancellationToken.None);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(second)), stored.Sha256);
        Assert.Equal("reports/r.bin", stored.Uri.OriginalString);
        Assert.Equal(second, await store.ReadObjectAsync("reports/r.bin", CancellationToken.None));
        Assert.Equal(second.Length, (await store.FindObjectAsync("reports/r.bin", CancellationToken.None))!.Size);
    }

    [Fact]
    public async Task A_content_addressed_artifact_is_the_named_object_at_its_location()
    {
        var store = Store;
        var bytes = Encoding.UTF8.GetBytes("a,b\n1,2\n");

        var stored = await store.PutAsync(bytes, CancellationToken.None);

        Assert.Equal(bytes, await store.ReadObjectAsync(stored.Uri.OriginalString, CancellationToken.None));
        Assert.Equal([stored.Uri.OriginalString], (await store.ListObjectsAsync("sha256/", CancellationToken.None).ToListAsync()).Select(o => o.Key));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("runs/../../escape")]
    [InlineData("/etc/passwd")]
    [InlineData("runs//a")]
    [InlineData("runs/a/")]
    [InlineData("runs/./a")]
    [InlineData("runs\\a")]
    [InlineData("runs/a\u0000b")]
    [InlineData("runs/a\nb")]
    [InlineData("")]
    public async Task A_key_that_could_leave_the_store_or_hide_is_refused_by_every_call(string key)
    {
        var store = Store;

        await Assert.ThrowsAsync<ArgumentException>(() => store.PutObjectAsync(key, new byte[] { 1 }, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => store.OpenObjectAsync(key, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => store.FindObjectAsync(key, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => store.DeleteObjectAsync(key, CancellationToken.None));
        // A prefix may end in '/' (a folder) or be empty (everything); the rest must hold as a prefix too.
        if (key.Length > 0 && !key.EndsWith('/'))
            await Assert.ThrowsAsync<ArgumentException>(async () => await store.ListObjectsAsync(key, CancellationToken.None).ToListAsync());
    }
}
