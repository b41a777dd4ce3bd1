namespace Flotilla.Storage.Artifacts;

/// <summary>
/// A file kept in the artifact store under a key that holds its SHA-256 and its name:
/// <c>&lt;area&gt;/&lt;sha256&gt;/&lt;name&gt;</c>, e.g. <c>files/ab12…/train.csv</c>. The hash makes it content-addressed (the
/// same bytes put twice are stored once, a cached copy can be checked) and the name keeps what readers of the file
/// rely on (a <c>.json</c> report is read as JSON).
/// </summary>
public sealed record ContentKey(string Area, string Sha256, string Name)
{
    public string Key => $"{Area}/{Sha256}/{Name}";

    public override string ToString() => Key;

    /// <summary>The key for <paramref name="sha256"/> of a file named <paramref name="name"/>, in <paramref name="area"/>.</summary>
    public static ContentKey For(string area, string sha256, string name)
    {
        var key = new ContentKey(area, ArtifactHash.Normalize(sha256), name);
        ArtifactKey.Validate(key.Key);
        return name.Contains('/') ? throw new ArgumentException($"'{name}' is not a file name.", nameof(name)) : key;
    }

    /// <summary>Reads <c>area/sha256/name</c> (area one segment); false for anything else, e.g. a legacy path.</summary>
    public static bool TryParse(string? text, out ContentKey key)
    {
        key = null!;
        var parts = text?.Split('/');
        if (parts is not { Length: 3 } || parts[1].Length != 64 || !parts[1].All(char.IsAsciiHexDigitLower))
            return false;
        try
        {
            ArtifactKey.Validate(text!);
        }
        catch (ArgumentException)
        {
            return false;
        }
        key = new ContentKey(parts[0], parts[1], parts[2]);
        return true;
    }
}

/// <summary>
/// This machine's copies of store objects, so a server reads a file of the shared store from local disk and fetches
/// it once: <c>&lt;root&gt;/&lt;ab&gt;/&lt;sha256&gt;/&lt;name&gt;</c>, keyed by hash and checked against it when fetched. Copies are
/// written to a temporary file and renamed into place, so a reader never sees half a file. Files placed here must
/// be treated as read-only: their path is shared by every reader of the same content.
/// </summary>
public sealed class ArtifactCache
{
    private readonly IArtifactStore _store;
    private readonly string _incoming;

    public ArtifactCache(IArtifactStore store, string root)
    {
        _store = store;
        Root = Path.GetFullPath(root);
        _incoming = Path.Combine(Root, ".incoming");
    }

    public string Root { get; }

    /// <summary>
    /// Stores the local file under <c>&lt;area&gt;/&lt;its sha256&gt;/&lt;its name&gt;</c> (unless that object is there already)
    /// and keeps a copy here, so this machine never fetches it back.
    /// </summary>
    public Task<ContentKey> PutFileAsync(string area, string path, CancellationToken cancellationToken) =>
        PutFileAsync(area, path, Path.GetFileName(path), cancellationToken);

    /// <summary>As <see cref="PutFileAsync(string, string, CancellationToken)"/>, under the file name <paramref name="name"/>.</summary>
    public async Task<ContentKey> PutFileAsync(string area, string path, string name, CancellationToken cancellationToken)
    {
        string sha256;
        await using (var file = File.OpenRead(path))
            (sha256, _) = await ArtifactHash.CopyAndHashAsync(file, Stream.Null, cancellationToken);
        var key = ContentKey.For(area, sha256, name);
        if (await _store.FindObjectAsync(key.Key, cancellationToken) is null)
        {
            await using var file = File.OpenRead(path);
            await _store.PutObjectAsync(key.Key, file, cancellationToken);
        }
        var cached = PathOf(key);
        if (!File.Exists(cached))
        {
            await using var file = File.OpenRead(path);
            await WriteAsync(key, file, cancellationToken);
        }
        return key;
    }

    /// <summary>
    /// The local path of the object <paramref name="key"/>, fetched from the store first if this machine has no copy.
    /// Throws <see cref="ObjectNotFoundException"/> if the store has none, <see cref="ArtifactIntegrityException"/>
    /// if what it has does not hash to the key.
    /// </summary>
    public async Task<string> GetLocalPathAsync(ContentKey key, CancellationToken cancellationToken)
    {
        var path = PathOf(key);
        if (File.Exists(path))
            return path;
        await using var stream = await _store.OpenObjectAsync(key.Key, cancellationToken);
        return await WriteAsync(key, stream, cancellationToken);
    }

    private async Task<string> WriteAsync(ContentKey key, Stream content, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_incoming);
        var temporary = Path.Combine(_incoming, $"{Guid.NewGuid():N}.tmp");
        try
        {
            string sha256;
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
                (sha256, _) = await ArtifactHash.CopyAndHashAsync(content, file, cancellationToken);
            if (sha256 != key.Sha256)
                throw new ArtifactIntegrityException(key.Sha256, sha256, _store.ToString() ?? _store.GetType().Name);
            var path = PathOf(key);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            try
            {
                File.Move(temporary, path, overwrite: false);
            }
            catch (IOException) when (File.Exists(path))
            {
                // Another reader fetched the same content first; the bytes are identical.
            }
            return path;
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private string PathOf(ContentKey key) => Path.Combine(Root, key.Sha256[..2], key.Sha256, key.Name);
}
