using System.Globalization;

namespace Flotilla.Bench;

/// <summary>What every suite reads about its run: its options, the machine's load, where the repository is.</summary>
internal static class BenchContext
{
    /// <summary>The value after <paramref name="name"/> on the command line, or null.</summary>
    public static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>The 1, 5 and 15 minute load averages, printed beside results: a busy machine explains a noisy figure.</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>The folder holding Flotilla.slnx, above the bench binary (or else above the working directory).</summary>
    public static string RepositoryRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Flotilla.slnx")))
                {
                    return dir.FullName;
                }
            }
        }
        throw new DirectoryNotFoundException($"No Flotilla.slnx above {AppContext.BaseDirectory} or {Environment.CurrentDirectory}: run the bench from the repository.");
    }
}
