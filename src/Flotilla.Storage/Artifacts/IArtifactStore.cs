using System.Security.Cryptography;

namespace Flotilla.Storage.Artifacts;

/// <summary>
/// Where stored content lives: its SHA-256 (lower-case hex, the key), size in bytes and location. The location
/// is relative to its store (<see cref="LocationOf"/>), so a data folder or bucket moved or restored elsewhere
/// still holds what its references name; references recorded before that rule keep their absolute URIs.
/// </summary>
public sealed record ArtifactRef(string Sha256, long Size, Uri Uri)
{
    /// <summary><c>sha256/ab/abcdef…</c>: the same place in a folder store and, under its prefix, in a bucket.</summary>
    public static Uri LocationOf(string sha256) => new($"sha256/{sha256[..2]}/{sha256}", UriKind.Relative);

    /// <summary>A stored location, relative (current) or absolute (recorded before locations were relative).</summary>
    public static Uri ParseLocation(string uri) => new(uri, UriKind.RelativeOrAbsolute);
}

/// <summary>A named object as listed: its key (store-relative), size in bytes and when it was last written.</summary>
public sealed record StoredObject(string Key, long Size, DateTimeOffset LastModified);

/// <summary>
/// Blob storage shared by every server of a deployment: a folder (embedded) or an S3 bucket (cluster). Two views
/// of one key space. Content-addressed artifacts (models, datasets, step files): putting the same bytes twice
/// stores them once under <c>sha256/…</c> and returns the same reference. Named objects (<see cref="ArtifactKey"/>):
/// put under a key chosen by the caller, replacing what was there, opened, listed by prefix and deleted. Either
/// way a reader never sees a partly written object.
/// </summary>
public interface IArtifactStore
{
    /// <summary>Stores <paramref name="content"/> (read to its end) under its SHA-256 and returns its reference.</summary>
    Task<ArtifactRef> PutAsync(Stream content, CancellationToken cancellationToken);

    /// <summary>Opens the artifact for reading; throws <see cref="ArtifactNotFoundException"/> if it is not stored.</summary>
    Task<Stream> OpenReadAsync(string sha256, CancellationToken cancellationToken);

    Task<bool> ExistsAsync(string sha256, CancellationToken cancellationToken);

    /// <summary>
    /// Stores <paramref name="content"/> (read to its end) under <paramref name="key"/>, replacing any object there
    /// in one step. Returns its SHA-256, size and key (as a relative <see cref="ArtifactRef.Uri"/>).
    /// </summary>
    Task<ArtifactRef> PutObjectAsync(string key, Stream content, CancellationToken cancellationToken);

    /// <summary>Opens the object for reading; throws <see cref="ObjectNotFoundException"/> if there is none.</summary>
    Task<Stream> OpenObjectAsync(string key, CancellationToken cancellationToken);

    /// <summary>The object under <paramref name="key"/>, or null if there is none.</summary>
    Task<StoredObject?> FindObjectAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// The objects whose keys start with <paramref name="prefix"/> (a plain string prefix, as in S3: "runs/a"
    /// matches "runs/a/x" and "runs/ab"), in ordinal order of key.
    /// </summary>
    IAsyncEnumerable<StoredObject> ListObjectsAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>Deletes the object; true if one was there. Deleting a content-addressed key is the caller's decision:
    /// the store keeps no reference counts.</summary>
    Task<bool> DeleteObjectAsync(string key, CancellationToken cancellationToken);
}

public sealed class ArtifactNotFoundException(string sha256, string where)
    : Exception($"Artifact {sha256} is not in {where}. It was never stored there, or the store was pointed at another location since.")
{
    public string Sha256 { get; } = sha256;
}

public sealed class ObjectNotFoundException(string key, string where)
    : Exception($"Object '{key}' is not in {where}. It was never stored there, was deleted, or the store was pointed at another location since.")
{
    public string Key { get; } = key;
}

/// <summary>The bytes read back do not hash to the name they were stored under: the store is damaged.</summary>
public sealed class ArtifactIntegrityException(string sha256, string actualSha256, string where)
    : Exception($"Artifact {sha256} in {where} is corrupt: its content hashes to {actualSha256}. Restore it from a backup or register the model again.")
{
    public string Sha256 { get; } = sha256;
}

public static class ArtifactStoreExtensions
{
    public static async Task<ArtifactRef> PutAsync(this IArtifactStore store, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        using var stream = new MemoryStream(content.ToArray(), writable: false);
        return await store.PutAsync(stream, cancellationToken);
    }

    public static async Task<ArtifactRef> PutObjectAsync(this IArtifactStore store, string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        using var stream = new MemoryStream(content.ToArray(), writable: false);
        return await store.PutObjectAsync(key, stream, cancellationToken);
    }

    /// <summary>Reads a whole named object.</summary>
    public static async Task<byte[]> ReadObjectAsync(this IArtifactStore store, string key, CancellationToken cancellationToken)
    {
        await using var stream = await store.OpenObjectAsync(key, cancellationToken);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }

    /// <summary>Reads the whole artifact and checks its SHA-256 against its name before returning it.</summary>
    public static async Task<byte[]> ReadVerifiedAsync(this IArtifactStore store, string sha256, CancellationToken cancellationToken)
    {
        var expected = ArtifactHash.Normalize(sha256);
        await using var stream = await store.OpenReadAsync(expected, cancellationToken);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken);
        var bytes = buffer.ToArray();
        var actual = Convert.ToHexStringLower(SHA256.HashData(bytes));
        return actual == expected ? bytes : throw new ArtifactIntegrityException(expected, actual, store.ToString() ?? store.GetType().Name);
    }
}

internal static class ArtifactHash
{
    /// <summary>Lower-case hex of a SHA-256, or an error naming the bad value.</summary>
    public static string Normalize(string sha256)
    {
        ArgumentNullException.ThrowIfNull(sha256);
        if (sha256.Length != 64 || !sha256.All(char.IsAsciiHexDigit))
            throw new ArgumentException($"'{sha256}' is not a SHA-256: expected 64 hexadecimal characters.", nameof(sha256));
        return sha256.ToLowerInvariant();
    }

    /// <summary>Copies <paramref name="source"/> to <paramref name="destination"/>, hashing on the way.</summary>
    public static async Task<(string Sha256, long Size)> CopyAndHashAsync(Stream source, Stream destination, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        long size = 0;
        int read;
        while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
            size += read;
        }
        return (Convert.ToHexStringLower(hash.GetHashAndReset()), size);
    }
}
