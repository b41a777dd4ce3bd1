using System.Security.Cryptography;
using System.Text;
using Flotilla.Storage.Artifacts;

namespace Flotilla.Storage.Tests;

public sealed class ArtifactCacheTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("flotilla-cache-").FullName;

    [Fact]
    public async Task A_file_put_on_one_machine_is_fetched_once_by_another_and_checked_against_its_hash()
    {
        var store = new FolderArtifactStore(Path.Combine(_root, "store"));
        var writer = new ArtifactCache(store, Path.Combine(_root, "a"));
        var reader = new ArtifactCache(store, Path.Combine(_root, "b"));
        var file = Path.Combine(_root, "train.csv");
        await File.WriteAllTextAsync(file, "x,y\n1,0\n");

        var key = await writer.PutFileAsync("files", file, CancellationToken.None);
        var first = await reader.GetLocalPathAsync(key, CancellationToken.None);
        await store.DeleteObjectAsync(key.Key, CancellationToken.None);
        var second = await reader.GetLocalPathAsync(key, CancellationToken.None);

        Assert.Equal($"files/{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("x,y\n1,0\n")))}/train.csv", key.Key);
        Assert.True(ContentKey.TryParse(key.Key, out var parsed) && parsed == key);
        Assert.Equal(first, second);
        Assert.StartsWith(reader.Root, first);
        Assert.Equal("x,y\n1,0\n", await File.ReadAllTextAsync(first));
        Assert.Equal("train.csv", Path.GetFileName(first));
        Assert.True(File.Exists(Path.Combine(writer.Root, key.Sha256[..2], key.Sha256, "train.csv")), "the writer keeps its own copy");
    }

    [Fact]
    public async Task An_object_that_does_not_hash_to_its_key_is_refused_and_not_cached()
    {
        var store = new FolderArtifactStore(Path.Combine(_root, "store"));
        var cache = new ArtifactCache(store, Path.Combine(_root, "b"));
        var key = ContentKey.For("files", new string('a', 64), "model.flm");
        await store.PutObjectAsync(key.Key, Encoding.UTF8.GetBytes("not what the hash says"), CancellationToken.None);

        await Assert.ThrowsAsync<ArtifactIntegrityException>(() => cache.GetLocalPathAsync(key, CancellationToken.None));
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => cache.GetLocalPathAsync(ContentKey.For("files", new string('b', 64), "x"), CancellationToken.None));
        Assert.False(Directory.Exists(Path.Combine(cache.Root, "aa")));
        Assert.False(ContentKey.TryParse("executions/abc/Preprocess/train.csv", out _));
        Assert.False(ContentKey.TryParse($"files/{new string('a', 64)}/../x", out _));
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
