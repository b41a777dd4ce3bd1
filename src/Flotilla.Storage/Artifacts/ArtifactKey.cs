using System.Text;

namespace Flotilla.Storage.Artifacts;

/// <summary>
/// A named object's key: store-relative, '/'-separated, e.g. <c>datasets/banknote.csv</c>. The same key names the
/// same object in a folder store and, under its prefix, in a bucket, so keys recorded on one machine resolve on any
/// other. Content-addressed artifacts are named objects too, under <c>sha256/</c> (<see cref="ArtifactRef.LocationOf"/>).
/// </summary>
public static class ArtifactKey
{
    /// <summary>S3's limit on a key, in UTF-8 bytes; a folder store holds to it too so keys move between them.</summary>
    public const int MaxBytes = 1024;

    /// <summary>
    /// Returns <paramref name="key"/> if it is a valid key, or throws <see cref="ArgumentException"/> naming it and the
    /// rule it breaks: not empty, not absolute, no backslash, no control character, no empty segment, and no segment
    /// starting with '.' (which rules out <c>.</c> and <c>..</c>, and keeps the folder store's own temporaries apart).
    /// </summary>
    public static string Validate(string key, string parameterName = "key")
    {
        ArgumentNullException.ThrowIfNull(key, parameterName);
        if (key.Length == 0)
            throw new ArgumentException("An object key must not be empty.", parameterName);
        CheckCharacters(key, parameterName);
        if (key.StartsWith('/'))
            throw new ArgumentException($"Object key '{key}' is absolute: keys are relative to the store, e.g. 'datasets/a.csv'.", parameterName);
        foreach (var segment in key.Split('/'))
        {
            if (segment.Length == 0)
                throw new ArgumentException($"Object key '{key}' has an empty segment ('//' or a trailing '/').", parameterName);
            if (segment[0] == '.')
                throw new ArgumentException($"Object key '{key}' has a segment starting with '.' ('{segment}'): '.', '..' and hidden names are not keys.", parameterName);
        }
        return key;
    }

    /// <summary>
    /// Returns <paramref name="prefix"/> if it can start keys: empty (everything) or the start of a valid key, which
    /// may end with '/' (a folder) or part-way through a segment.
    /// </summary>
    public static string ValidatePrefix(string prefix, string parameterName = "prefix")
    {
        ArgumentNullException.ThrowIfNull(prefix, parameterName);
        if (prefix.Length == 0)
            return prefix;
        Validate(prefix.EndsWith('/') ? prefix[..^1] : prefix, parameterName);
        return prefix;
    }

    /// <summary>Joins segments into a key and validates it: <c>Join("executions", id, "Preprocess/train.csv")</c>.</summary>
    public static string Join(params ReadOnlySpan<string> segments) => Validate(string.Join('/', segments));

    private static void CheckCharacters(string key, string parameterName)
    {
        if (Encoding.UTF8.GetByteCount(key) > MaxBytes)
            throw new ArgumentException($"Object key '{key[..40]}…' is longer than {MaxBytes} bytes.", parameterName);
        foreach (var c in key)
        {
            if (char.IsControl(c))
                throw new ArgumentException($"Object key '{Printable(key)}' contains a control character (U+{(int)c:X4}).", parameterName);
            if (c == '\\')
                throw new ArgumentException($"Object key '{key}' contains '\\': segments are separated by '/'.", parameterName);
        }
    }

    private static string Printable(string key) => string.Concat(key.Select(c => char.IsControl(c) ? $"\\u{(int)c:X4}" : c.ToString()));
}
