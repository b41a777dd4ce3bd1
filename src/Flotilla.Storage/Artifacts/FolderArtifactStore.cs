namespace Flotilla.Storage.Artifacts;

/// <summary>
/// Artifacts as files <c>&lt;root&gt;/sha256/ab/abcdef…</c>. A put writes a temporary file in the same folder tree,
/// flushes it and renames it into place, so a crash leaves either the whole file or none.
/// </summary>
public sealed class FolderArtifactStore : IArtifactStore
{
    private readonly string _objects;
    private readonly string _incoming;

    public FolderArtifactStore(string root)
    {
        Root = Path.GetFullPath(root);
        _objects = Path.Combine(Root, "sha256");
        _incoming = Path.Combine(Root, "incoming");
        Directory.CreateDirectory(_objects);
        Directory.CreateDirectory(_incoming);
    }

    public string Root { get; }

    public async Task<ArtifactRef> PutAsync(Stream content, CancellationToken cancellationToken)
    {
        var temporary = Path.Combine(_incoming, $"{Guid.NewGuid():N}.tmp");
        try
        {
            string sha256;
            long size;
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
            {
                (sha256, size) = await ArtifactHash.CopyAndHashAsync(content, file, cancellationToken);
                await file.FlushAsync(cancellationToken);
                file.Flush(flushToDisk: true);
            }
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

    public override string ToString() => $"artifact folder {Root}";

    private string PathOf(string sha256) => Path.Combine(_objects, sha256[..2], sha256);
}
