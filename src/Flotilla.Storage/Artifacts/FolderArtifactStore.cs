using System.Runtime.CompilerServices;

namespace Flotilla.Storage.Artifacts;

/// <summary>
/// Objects as files <c>&lt;root&gt;/&lt;key&gt;</c>; content-addressed artifacts are the keys <c>sha256/ab/abcdef…</c>.
/// A put writes a temporary file in <c>&lt;root&gt;/.incoming</c> (same file system), flushes it and renames it into
/// place, so a crash leaves either the whole file or none. No key has a segment starting with '.', so the
/// temporaries are never an object.
/// </summary>
public sealed class FolderArtifactStore : IArtifactStore
{
    private readonly string _objects;
    private readonly string _incoming;

    public FolderArtifactStore(string root)
    {
        Root = Path.GetFullPath(root);
        _objects = Path.Combine(Root, "sha256");
        _incoming = Path.Combine(Root, ".incoming");
        Directory.CreateDirectory(_objects);
        Directory.CreateDirectory(_incoming);
    }

    public string Root { get; }

    public async Task<ArtifactRef> PutAsync(Stream content, CancellationToken cancellationToken)
    {
        var temporary = TemporaryPath();
        try
        {
            var (sha256, size) = await WriteTemporaryAsync(temporary, content, cancellationToken);
            var final = PathOf(sha256);
            Directory.CreateDirectory(Path.GetDirectoryName(final)!);
            if (!File.Exists(final))
            {
                try
                {
                    File.Move(temporary, final, overwrite: false);
                }
                catch (IOException) when (File.Exists(final))
                {
                    // Another writer stored the same content first; the bytes are identical.
                }
            }
            return new ArtifactRef(sha256, size, ArtifactRef.LocationOf(sha256));
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    public Task<Stream> OpenReadAsync(string sha256, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var path = PathOf(ArtifactHash.Normalize(sha256));
        try
        {
            return Task.FromResult<Stream>(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ArtifactNotFoundException(sha256, ToString());
        }
    }

    public Task<bool> ExistsAsync(string sha256, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(File.Exists(PathOf(ArtifactHash.Normalize(sha256))));
    }

    public async Task<ArtifactRef> PutObjectAsync(string key, Stream content, CancellationToken cancellationToken)
    {
        var final = PathOfKey(key);
        var temporary = TemporaryPath();
        try
        {
            var (sha256, size) = await WriteTemporaryAsync(temporary, content, cancellationToken);
            Directory.CreateDirectory(Path.GetDirectoryName(final)!);
            File.Move(temporary, final, overwrite: true);
            return new ArtifactRef(sha256, size, new Uri(key, UriKind.Relative));
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    public Task<Stream> OpenObjectAsync(string key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var path = PathOfKey(key);
        try
        {
            return Task.FromResult<Stream>(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 81920, FileOptions.Asynchronous));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ObjectNotFoundException(key, ToString());
        }
    }

    public Task<StoredObject?> FindObjectAsync(string key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var file = new FileInfo(PathOfKey(key));
        return Task.FromResult(file.Exists ? new StoredObject(key, file.Length, file.LastWriteTimeUtc) : null);
    }

    public async IAsyncEnumerable<StoredObject> ListObjectsAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArtifactKey.ValidatePrefix(prefix);
        // Only the folder the prefix ends in can hold matching keys; a part-way segment is filtered below.
        var slash = prefix.LastIndexOf('/');
        var folder = slash < 0 ? Root : Path.Combine(Root, prefix[..slash]);
        if (!Directory.Exists(folder))
            yield break;
        var found = new List<StoredObject>();
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true };
        foreach (var file in new DirectoryInfo(folder).EnumerateFiles("*", options))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var key = Path.GetRelativePath(Root, file.FullName).Replace(Path.DirectorySeparatorChar, '/');
            if (key.StartsWith(prefix, StringComparison.Ordinal) && !key.Split('/').Any(segment => segment.StartsWith('.')))
                found.Add(new StoredObject(key, file.Length, file.LastWriteTimeUtc));
        }
        found.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        foreach (var stored in found)
        {
            await Task.Yield();
            yield return stored;
        }
    }

    public Task<bool> DeleteObjectAsync(string key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var path = PathOfKey(key);
        if (!File.Exists(path))
            return Task.FromResult(false);
        File.Delete(path);
        return Task.FromResult(true);
    }

    public override string ToString() => $"artifact folder {Root}";

    private string PathOf(string sha256) => Path.Combine(_objects, sha256[..2], sha256);

    private string PathOfKey(string key)
    {
        var path = Path.GetFullPath(Path.Combine(Root, ArtifactKey.Validate(key)));
        // Validation already rules out escaping the root; this holds even if the rules are ever loosened.
        return path.StartsWith(Root + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            ? path
            : throw new ArgumentException($"Object key '{key}' resolves outside {ToString()}.", nameof(key));
    }

    private string TemporaryPath() => Path.Combine(_incoming, $"{Guid.NewGuid():N}.tmp");

    private static async Task<(string Sha256, long Size)> WriteTemporaryAsync(string temporary, Stream content, CancellationToken cancellationToken)
    {
        await using var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous);
        var written = await ArtifactHash.CopyAndHashAsync(content, file, cancellationToken);
        await file.FlushAsync(cancellationToken);
        file.Flush(flushToDisk: true);
        return written;
    }
}
