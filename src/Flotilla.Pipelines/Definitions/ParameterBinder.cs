using System.Globalization;
using System.Text.Json.Nodes;

namespace Flotilla.Pipelines.Definitions;

/// <summary>A start of an execution was refused; every problem names its parameter.</summary>
public sealed class ParameterException(IReadOnlyList<DefinitionError> errors)
    : Exception($"Invalid parameters: {string.Join("; ", errors)}")
{
    public IReadOnlyList<DefinitionError> Errors { get; } = errors;
}

/// <summary>
/// Checks the parameters given to an execution against the definition and fills in defaults. Values may come
/// as JSON values or as text (the CLI's <c>-p Name=Value</c>); the bound result has every parameter under its
/// canonical name, typed.
/// </summary>
public static class ParameterBinder
{
    public static JsonObject Bind(PipelineDefinition definition, IReadOnlyDictionary<string, JsonNode?>? supplied)
    {
        var errors = new List<DefinitionError>();
        var bound = new JsonObject();
        foreach (var (name, value) in supplied ?? new Dictionary<string, JsonNode?>())
        {
            var parameter = definition.FindParameter(name);
            if (parameter is null)
            {
                errors.Add(new(name, $"Unknown parameter '{name}' for pipeline '{definition.Name}'. Parameters: {string.Join(", ", definition.Parameters.Select(p => p.Name))}."));
                continue;
            }
            if (bound.ContainsKey(parameter.Name))
            {
                errors.Add(new(name, $"'{parameter.Name}' is given twice (once through an alias)."));
                continue;
            }

            var (coerced, error) = Coerce(parameter, value);
            if (error is not null)
            {
                errors.Add(new(parameter.Name, error));
            }
            else
            {
                bound[parameter.Name] = coerced;
            }
        }

        foreach (var parameter in definition.Parameters.Where(p => !bound.ContainsKey(p.Name)))
        {
            if (parameter.Default is null)
            {
                if (!errors.Any(e => e.Where == parameter.Name))
                {
                    errors.Add(new(parameter.Name, $"'{parameter.Name}' is required ({parameter.Type.ToString().ToLowerInvariant()}{Allowed(parameter)})."));
                }
                continue;
            }
            bound[parameter.Name] = Coerce(parameter, parameter.Default).Value;
        }

        return errors.Count > 0 ? throw new ParameterException(errors) : bound;
    }

    /// <summary>The value as a bare type (a step's declared input: no range, no allowed values), or why it is not.</summary>
    public static (JsonNode? Value, string? Error) Coerce(ValueType type, JsonNode? value) =>
        Coerce(new ParameterDefinition("", type), value);

    /// <summary>The value as the parameter's type, or a message saying why it is not acceptable.</summary>
    public static (JsonNode? Value, string? Error) Coerce(ParameterDefinition parameter, JsonNode? value)
    {
        var text = value is JsonValue v && v.TryGetValue<string>(out var s) ? s.Trim() : null;
        var shown = value?.ToJsonString() ?? "null";
        switch (parameter.Type)
        {
            case ValueType.String:
                return text is not null ? (JsonValue.Create(text), null) : (null, $"{shown} is not a string.");
            case ValueType.Bool:
                if (value is JsonValue b && b.TryGetValue<bool>(out var flag))
                {
                    return (JsonValue.Create(flag), null);
                }
                return bool.TryParse(text, out flag) ? (JsonValue.Create(flag), null) : (null, $"{shown} is not true or false.");
            case ValueType.Int:
            case ValueType.Float:
                double number;
                if (JsonNumber.TryGet(value, out var given))
                {
                    number = given;
                }
                else if (text is null || !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out number))
                {
                    return (null, $"{shown} is not {(parameter.Type == ValueType.Int ? "a whole number" : "a number")}.");
                }
                if (parameter.Type == ValueType.Int && number != Math.Round(number))
                {
                    return (null, $"{shown} is not a whole number.");
                }
                if (!double.IsFinite(number) || Below(parameter, number) || Above(parameter, number))
                {
                    return (null, $"{shown} is outside {Range(parameter)}.");
                }
                return parameter.Type == ValueType.Int ? (JsonValue.Create((long)number), null) : (JsonValue.Create(number), null);
            case ValueType.Enum:
                var match = parameter.Values?.FirstOrDefault(x => string.Equals(x, text, StringComparison.OrdinalIgnoreCase));
                if (match is not null)
                {
                    return (JsonValue.Create(match), null);
                }
                if (parameter.Min is null && parameter.Max is null)
                {
                    return (null, $"{shown} is not one of {string.Join(", ", parameter.Values ?? [])}.");
                }
                // An enum with a range also takes a number in it, kept as text so the parameter has one type.
                var isNumber = JsonNumber.TryGet(value, out var choice)
                    || (text is not null && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out choice));
                return isNumber && double.IsFinite(choice) && !Below(parameter, choice) && !Above(parameter, choice)
                    ? (JsonValue.Create(choice.ToString("R", CultureInfo.InvariantCulture)), null)
                    : (null, $"{shown} is not one of {string.Join(", ", parameter.Values ?? [])}, nor a number in {Range(parameter)}.");
            case ValueType.List:
                var items = value switch
                {
                    JsonArray a when a.All(i => i is JsonValue iv && iv.TryGetValue<string>(out _)) => a.Select(i => i!.GetValue<string>().Trim()).ToList(),
                    _ when text is not null => [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
                    _ => null,
                };
                if (items is null || items.Count == 0)
                {
                    return (null, $"{shown} is not a non-empty list of names (a JSON list or comma-separated text).");
                }
                var normalized = new JsonArray();
                foreach (var item in items)
                {
                    var known = parameter.Values is null ? item : parameter.Values.FirstOrDefault(x => string.Equals(x, item, StringComparison.OrdinalIgnoreCase));
                    if (known is null)
                    {
                        return (null, $"'{item}' is not one of {string.Join(", ", parameter.Values!)}.");
                    }
                    normalized.Add(known);
                }
                return (normalized, null);
            default:
                return (value?.DeepClone(), null);
        }
    }

    private static bool Below(ParameterDefinition p, double x) => p.Min is { } min && (p.ExclusiveMin ? x <= min : x < min);

    private static bool Above(ParameterDefinition p, double x) => p.Max is { } max && (p.ExclusiveMax ? x >= max : x > max);

    private static string Range(ParameterDefinition p) =>
        $"{(p.ExclusiveMin ? "(" : "[")}{p.Min?.ToString(CultureInfo.InvariantCulture) ?? "-∞"}, {p.Max?.ToString(CultureInfo.InvariantCulture) ?? "∞"}{(p.ExclusiveMax ? ")" : "]")}";

    private static string Allowed(ParameterDefinition p) =>
        p.Values is { Count: > 0 } values ? $": one of {string.Join(", ", values)}" : "";
}
