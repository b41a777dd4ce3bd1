using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Steps;

namespace Flotilla.Pipelines.Execution;

/// <summary>The key under which a cached step's outputs are kept and found again.</summary>
internal static class StepCache
{
    /// <summary>
    /// Same pipeline and step, same inputs (files by content), same parameters → same key. A file input counts by
    /// its hash only, never its path: the path is this machine's copy, and another server's copy of the same
    /// content must find the same entry.
    /// </summary>
    public static async Task<string> KeyAsync(
        PipelineDefinition definition, StepDefinition step, StepKind kind, JsonObject inputs, JsonObject parameters, CancellationToken ct)
    {
        var values = inputs.DeepClone().AsObject();
        var files = new JsonObject();
        foreach (var (name, value) in inputs)
        {
            if (value is JsonValue v && v.TryGetValue<string>(out var path) && path.Length < 4096 && Path.IsPathFullyQualified(path) && File.Exists(path))
            {
                await using var stream = File.OpenRead(path);
                files[name] = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
                values[name] = $"file:{Path.GetFileName(path)}";
            }
        }
        var material = new JsonObject
        {
            ["pipeline"] = definition.Name,
            ["step"] = JsonSerializer.SerializeToNode(step),
            ["inputs"] = values,
            ["parameters"] = parameters.DeepClone(),
            ["files"] = files,
        };
        material["extra"] = await kind.CacheMaterialAsync(inputs, ct);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(material.ToJsonString())));
    }
}
