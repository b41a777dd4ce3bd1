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
    /// <summary>Same pipeline and step, same inputs (files by content), same parameters → same key.</summary>
    public static async Task<string> KeyAsync(
        PipelineDefinition definition, StepDefinition step, StepKind kind, JsonObject inputs, JsonObject parameters, CancellationToken ct)
    {
        var material = new JsonObject
        {
            ["pipeline"] = definition.Name,
            ["step"] = JsonSerializer.SerializeToNode(step),
            ["inputs"] = inputs.DeepClone(),
            ["parameters"] = parameters.DeepClone(),
        };
        var files = new JsonObject();
        foreach (var (name, value) in inputs)
        {
            if (value is JsonValue v && v.TryGetValue<string>(out var path) && path.Length < 4096 && Path.IsPathFullyQualified(path) && File.Exists(path))
            {
                await using var stream = File.OpenRead(path);
                files[name] = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
            }
        }
        material["files"] = files;
        material["extra"] = await kind.CacheMaterialAsync(inputs, ct);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(material.ToJsonString())));
    }
}
