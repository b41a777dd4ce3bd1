using System.Net.Http.Json;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Evaluation;
using Flotilla.Server.Tests.Datasets;

namespace Flotilla.Server.Tests.Contracts;

/// <summary>
/// The web UI reads one spelling per field, the one its typedef module (<c>Ui/assets/contracts.js</c>) declares:
/// every typedef property must be a property of the schema of that name in <c>/openapi/v1.json</c> (the open JSON of
/// an evaluation report is checked against the records the Evaluate step serialises), and the pages must not fall
/// back from one spelling to another.
/// </summary>
public sealed partial class UiContractsTests(RunningServer server) : IClassFixture<RunningServer>
{
    private static readonly string Assets = Path.Combine(SharedDatasets.RepositoryRoot, "src", "Flotilla.Server", "Ui", "assets");

    // Not in the OpenAPI document: a package's evaluation report and a step's outputs are open JSON (any step may
    // write its own); these are the shapes the built-in steps write, as System.Text.Json writes them with web defaults.
    private static readonly Dictionary<string, Type> OpenJson = new()
    {
        ["TuneOutputs"] = typeof(Flotilla.Contracts.TuneOutputs),
        ["TuneSilo"] = typeof(Flotilla.Contracts.TuneSilo),
        ["RegisterOutputs"] = typeof(Flotilla.Contracts.RegisterOutputs),
        ["EvaluationReport"] = typeof(EvaluationReport),
        ["EnsembleMember"] = typeof(Flotilla.Learning.Artifacts.EnsembleMember),
        ["ConfusionMatrix"] = typeof(ConfusionMatrix),
        ["RocPoint"] = typeof(RocPoint),
        ["PrecisionRecallPoint"] = typeof(PrecisionRecallPoint),
        ["EnsembleMember"] = typeof(EnsembleMember),
    };

    // Evaluate adds the served version it was compared with; the step writes it as a JSON object by hand.
    private static readonly Dictionary<string, string[]> HandWritten = new()
    {
        ["Champion"] = ["version", "packageId", "artifactSha256", "threshold", "metrics", "rocCurve"],
        ["EvaluationReport"] = ["champion", "ensemble"],
    };

    [GeneratedRegex(@"@typedef \{Object\} (\w+)(?<body>(?:\s*\*\s*@property \{[^}]*\} \[?\w+\]?[^\n]*)*)")]
    private static partial Regex Typedef();

    [GeneratedRegex(@"@property \{[^}]*\} \[?(\w+)\]?")]
    private static partial Regex Property();

    [Fact]
    public async Task Every_typedef_property_of_the_ui_is_a_property_of_the_api()
    {
        var schemas = (await server.Client.GetFromJsonAsync<JsonObject>("/openapi/v1.json"))!["components"]!["schemas"]!.AsObject();
        var typedefs = Typedef().Matches(await File.ReadAllTextAsync(Path.Combine(Assets, "contracts.js")))
            .ToDictionary(m => m.Groups[1].Value, m => Property().Matches(m.Groups["body"].Value).Select(p => p.Groups[1].Value).ToList());
        Assert.True(typedefs.Count > 30, $"contracts.js declares the API's records ({typedefs.Count} typedefs found)");

        var wrong = new List<string>();
        foreach (var (name, properties) in typedefs)
        {
            var known = new HashSet<string>(HandWritten.GetValueOrDefault(name) ?? [], StringComparer.Ordinal);
            if (schemas[name]?["properties"] is JsonObject schema)
                known.UnionWith(schema.Select(p => p.Key));
            else if (OpenJson.TryGetValue(name, out var type))
                known.UnionWith(type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name)));
            else if (!HandWritten.ContainsKey(name))
            {
                wrong.Add($"{name}: no schema of that name in /openapi/v1.json");
                continue;
            }
            wrong.AddRange(properties.Where(p => !known.Contains(p)).Select(p => $"{name}.{p}: not a property of the API's {name}"));
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    // pick(o, 'a', 'b') and list(v, 'wrapper', ...), the helpers that tried spellings, and `x.a ?? x.b` fallbacks.
    [GeneratedRegex(@"\bpick\(|\blist\([^)]*'|\b(\w+)\??\.(\w+)\s*\?\?\s*\1\??\.(?!\2\b)\w+")]
    private static partial Regex Guessing();

    // Spellings the API never had, which the pages once tried.
    [GeneratedRegex(@"\b(finishedAt|completedAt|endTime|startTime|targetColumn|pipelineName|datasetName|modelPackageId|groupName|meanScore|cvScore|durationSeconds|elapsedSeconds|rocAuc|f1Score|prCurve|registeredAt|classBalance)\b")]
    private static partial Regex OldSpellings();

    [Fact]
    public void The_pages_read_one_spelling_per_field()
    {
        var offences = Directory.EnumerateFiles(Assets, "*.js", SearchOption.AllDirectories)
            .SelectMany(file => File.ReadLines(file).Select((line, i) => (file, line, i)))
            .Where(x => Guessing().IsMatch(x.line) || OldSpellings().IsMatch(x.line))
            .Select(x => $"{Path.GetRelativePath(Assets, x.file)}:{x.i + 1}: {x.line.Trim()}")
            .ToList();
        Assert.True(offences.Count == 0, "Field-name guessing in the UI (read the contracts.js spelling):\n" + string.Join("\n", offences));
    }
}
