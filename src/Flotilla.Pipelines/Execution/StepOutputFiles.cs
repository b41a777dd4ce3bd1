using System.Text.Json.Nodes;
using Flotilla.Pipelines.Steps;
using Microsoft.Extensions.Options;

namespace Flotilla.Pipelines.Execution;

/// <summary>
/// Step outputs that name files (<see cref="OutputSpec.IsFile"/>) are stored relative to the data folder and made
/// absolute again for the steps that read them, so a data folder that is moved, or restored from a backup
/// elsewhere, still resumes and reruns its executions. Paths outside the data folder, and rows written before
/// this rule (absolute), are kept as they are.
/// </summary>
public sealed class StepOutputFiles(IOptions<PipelineOptions> options)
{
    private string DataDirectory => Path.GetFullPath(options.Value.DataDirectory);

    /// <summary>The outputs as stored: file paths under the data folder relative to it, with '/' separators.</summary>
    public string ToStored(StepKind kind, JsonObject outputs)
    {
        var root = DataDirectory;
        foreach (var (name, path) in Files(kind, outputs))
        {
            if (Path.IsPathFullyQualified(path))
            {
                var relative = Path.GetRelativePath(root, path);
                if (!relative.StartsWith("..", StringComparison.Ordinal) && !Path.IsPathFullyQualified(relative))
                {
                    outputs[name] = relative.Replace(Path.DirectorySeparatorChar, '/');
                }
            }
        }
        return outputs.ToJsonString();
    }

    /// <summary>The outputs as a step reads them: every stored relative file path under this data folder.</summary>
    public JsonObject ToResolved(StepKind kind, JsonObject outputs)
    {
        var root = DataDirectory;
        foreach (var (name, path) in Files(kind, outputs))
        {
            if (!Path.IsPathFullyQualified(path))
            {
                outputs[name] = Path.GetFullPath(Path.Combine(root, path));
            }
        }
        return outputs;
    }

    private static List<(string Name, string Path)> Files(StepKind kind, JsonObject outputs) =>
        [.. kind.Outputs
            .Where(o => o.IsFile && outputs[o.Name] is JsonValue v && v.TryGetValue<string>(out var text) && text.Length > 0)
            .Select(o => (o.Name, outputs[o.Name]!.GetValue<string>()))];
}
