using System.Text.RegularExpressions;
using Flotilla.Server.Tests.Datasets;

namespace Flotilla.Server.Tests.Contracts;

/// <summary>
/// The clients read the server's answers as the contract records, one spelling per field: nothing outside the
/// CLI's typed client touches raw JSON documents, and no read falls back from one field name to another.
/// </summary>
public sealed partial class NoGuessingTests
{
    private static readonly string Cli = Path.Combine(SharedDatasets.RepositoryRoot, "src", "Flotilla.Cli");

    // Raw JSON reading: what a command would need to guess at a field.
    [GeneratedRegex(@"\bJsonDocument\b|\bJsonElement\b|TryGetProperty\(|JsonNode\.Parse|as JsonObject\b|as JsonArray\b|\(JsonObject\)|GetProperty\(")]
    private static partial Regex RawJson();

    // node["a"] ?? node["b"], or a lookup through a list of alternative names.
    [GeneratedRegex(@"\[""\w+""\]\s*(\?\.\w+\s*)?\?\?\s*[\w.]*\[""\w+""\]|params string\[\] keys")]
    private static partial Regex AlternativeNames();

    [Fact]
    public void The_CLI_reads_answers_only_through_its_typed_client()
    {
        var offences = CliSources()
            .Where(f => !f.StartsWith(Path.Combine(Cli, "Client") + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            .SelectMany(f => Matches(f, RawJson()))
            .ToList();
        Assert.True(offences.Count == 0, "Raw JSON reads outside src/Flotilla.Cli/Client (use a Flotilla.Contracts record):\n" + string.Join("\n", offences));
    }

    [Fact]
    public void The_CLI_never_tries_one_field_name_after_another()
    {
        var offences = CliSources().SelectMany(f => Matches(f, AlternativeNames())).ToList();
        Assert.True(offences.Count == 0, "Alternative field names in the CLI (the contracts have one spelling):\n" + string.Join("\n", offences));
    }

    private static IEnumerable<string> CliSources() =>
        Directory.EnumerateFiles(Cli, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    private static IEnumerable<string> Matches(string file, Regex pattern) =>
        File.ReadLines(file)
            .Select((line, i) => (line, i))
            .Where(x => pattern.IsMatch(x.line))
            .Select(x => $"{Path.GetRelativePath(SharedDatasets.RepositoryRoot, file)}:{x.i + 1}: {x.line.Trim()}");
}
