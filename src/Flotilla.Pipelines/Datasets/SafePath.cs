namespace Flotilla.Pipelines.Datasets;

/// <summary>
/// Paths as the file system will follow them: every component's symbolic link resolved (what <c>realpath</c>
/// does), so a link inside a data root cannot lead out of it. Whoever checks a path this way must then open the
/// resolved path, never the one it was given, or a link swapped in between would win.
/// </summary>
public static class SafePath
{
    // Linux gives up after 40 links (ELOOP); so do we, rather than loop on a cycle.
    private const int MaxLinks = 40;

    public static string Resolve(string path)
    {
        var links = 0;
        return ResolveFrom(Path.GetFullPath(path), ref links);
    }

    /// <summary>Whether <paramref name="resolved"/> (already <see cref="Resolve"/>d) lies inside one of the roots.</summary>
    public static bool IsUnder(string resolved, IEnumerable<string> roots) =>
        roots.Select(r => Path.TrimEndingDirectorySeparator(Resolve(r))).Any(root =>
            resolved.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal));

    private static string ResolveFrom(string full, ref int links)
    {
        var root = Path.GetPathRoot(full)!;
        var current = root;
        foreach (var part in full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            var next = Path.Combine(current, part);
            var entry = new FileInfo(next);
            if (entry.LinkTarget is not null)
            {
                if (++links > MaxLinks)
                {
                    throw new IOException($"{full}: too many levels of symbolic links.");
                }
                // The target may itself sit behind links in its parent folders: resolve it from the top again.
                var target = Path.GetFullPath(entry.LinkTarget, current);
                next = ResolveFrom(target, ref links);
            }
            current = next;
        }
        return current;
    }
}
