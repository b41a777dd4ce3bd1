namespace Flotilla.Testing;

/// <summary>
/// The folder artifact store's file for a hash, and a way to change it behind the store's back (the store keeps
/// artifacts read-only), so that tests can check that a load verifies the hash.
/// </summary>
internal static class StoredArtifacts
{
    public static string PathOf(string dataDirectory, string sha256) =>
        Path.Combine(dataDirectory, "artifacts", "sha256", sha256[..2], sha256);

    public static Task ReplaceAsync(string dataDirectory, string sha256, byte[] bytes)
    {
        var path = PathOf(dataDirectory, sha256);
        File.SetAttributes(path, FileAttributes.Normal);
        return File.WriteAllBytesAsync(path, bytes);
    }
}
