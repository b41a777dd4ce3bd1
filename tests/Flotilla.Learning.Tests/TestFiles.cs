using System.Text;
using Flotilla.Learning.Data;

namespace Flotilla.Learning.Tests;

/// <summary>A temporary folder per test class instance for real CSV files, deleted afterwards.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "flotilla-learning-" + Guid.NewGuid().ToString("N"));

    /// <summary>Writes <paramref name="content"/> byte for byte (UTF-8, optional BOM) and returns the path.</summary>
    public string Write(string name, string content, bool bom = false)
    {
        var path = System.IO.Path.Combine(Path, name);
        var bytes = Encoding.UTF8.GetBytes(content);
        File.WriteAllBytes(path, bom ? [0xEF, 0xBB, 0xBF, .. bytes] : bytes);
        return path;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

/// <summary>The shared example datasets, found beside the repository (never copied into it).</summary>
public static class Datasets
{
    private static readonly Lazy<string> Folder = new(() =>
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "Flotilla.slnx")))
            {
                return System.IO.Path.GetFullPath(System.IO.Path.Combine(directory.FullName, "..", "shared", "datasets"));
            }
        }

        throw new DirectoryNotFoundException("No Flotilla.slnx above " + AppContext.BaseDirectory);
    });

    private static readonly Lazy<Table> BreastCancerTable = new(() => Read("breast-cancer.csv"));
    private static readonly Lazy<Table> BanknoteTable = new(() => Read("banknote-authentication.csv"));

    public static string PathOf(string file) => System.IO.Path.Combine(Folder.Value, file);

    public static Table BreastCancer => BreastCancerTable.Value;

    public static Table Banknote => BanknoteTable.Value;

    private static Table Read(string file) => TableReader.Read(PathOf(file), new CsvOptions("CLASS"), CancellationToken.None);
}

/// <summary>Small real tables read from CSV text, for the tree builders' tests.</summary>
public static class Tables
{
    /// <summary>A header, then one line per row (the label last, named "label").</summary>
    public static Table Csv(string header, IEnumerable<string> rows) =>
        TableReader.Read(new MemoryStream(Encoding.UTF8.GetBytes(string.Join("\n", [header, .. rows]))), "tree.csv", new CsvOptions("label"), CancellationToken.None);

    /// <summary>
    /// One column x: small values and missing cells are positive, large values negative. The one perfect split sends NaN
    /// left, which the comparison alone (NaN ≤ t is false) would not.
    /// </summary>
    public static Table MissingWithSmallValues() => Csv("x,label", Enumerable.Range(0, 300).Select(r => (r % 3) switch
    {
        0 => ",yes",
        1 => $"{r % 10},yes",
        _ => $"{20 + r % 10},no",
    }));
}
