using System.Text.Json.Nodes;
using Flotilla.Pipelines.Definitions;
using ValueType = Flotilla.Pipelines.Definitions.ValueType;

namespace Flotilla.Pipelines.Steps;

/// <summary>
/// A step's inputs: bound once, before the step runs, against the types its kind declares — through the same
/// <see cref="ParameterBinder.Coerce(ValueType, JsonNode?)"/> that binds pipeline parameters, so "5", 5 and 5.0
/// mean the same to a step as to a parameter — then read by name, with the input named when one is missing.
/// </summary>
internal static class StepInputs
{
    /// <summary>
    /// The resolved inputs with each declared one as its declared type; inputs the kind does not declare (a
    /// Process step's) are kept as they are. Throws with the input's place in the definition when one cannot be.
    /// </summary>
    public static JsonObject Bind(StepKind kind, JsonObject resolved, string where)
    {
        var bound = new JsonObject();
        var declared = kind.Inputs.ToDictionary(i => i.Name, StringComparer.Ordinal);
        foreach (var (name, value) in resolved)
        {
            if (value is null || !declared.TryGetValue(name, out var spec))
            {
                bound[name] = value?.DeepClone();
                continue;
            }
            var (coerced, error) = ParameterBinder.Coerce(spec.Type, value);
            bound[name] = error is null ? coerced : throw new StepFailedException($"{where}.inputs.{name}: {error}");
        }
        return bound;
    }

    public static string String(JsonObject inputs, string name) =>
        inputs[name] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0
            ? s
            : throw new StepFailedException($"input '{name}' must be a non-empty string (was {inputs[name]?.ToJsonString() ?? "missing"}).");

    public static string String(JsonObject inputs, string name, string fallback) =>
        inputs[name] is null ? fallback : String(inputs, name);

    public static double Double(JsonObject inputs, string name, double fallback) => inputs[name] switch
    {
        null => fallback,
        var n when JsonNumber.TryGet(n, out var d) => d,
        var other => throw Unbound(name, "a number", other),
    };

    public static int Int(JsonObject inputs, string name, int fallback) => inputs[name] switch
    {
        null => fallback,
        var n when JsonNumber.TryGet(n, out var d) && d == Math.Round(d) && d is >= int.MinValue and <= int.MaxValue => (int)d,
        var other => throw Unbound(name, "a whole number", other),
    };

    public static bool Bool(JsonObject inputs, string name, bool fallback) => inputs[name] switch
    {
        null => fallback,
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        var other => throw Unbound(name, "true or false", other),
    };

    public static IReadOnlyList<string>? List(JsonObject inputs, string name) => inputs[name] switch
    {
        null => null,
        JsonArray a => [.. a.Select(i => i?.GetValue<string>() ?? "")],
        var other => throw Unbound(name, "a list of names", other),
    };

    /// <summary>Only a step reading an input its kind does not declare (so <see cref="Bind"/> left it as given) gets here.</summary>
    private static StepFailedException Unbound(string name, string expected, JsonNode other) =>
        new($"input '{name}' must be {expected} (was {other.ToJsonString()}).");
}
