using System.Text.Json;
using System.Text.Json.Nodes;
using Flotilla.Pipelines.Steps;

namespace Flotilla.Pipelines.Definitions;

/// <summary>
/// Reads a definition written in YAML or JSON (JSON is YAML, but JSON text is parsed as JSON for exact numbers)
/// into a <see cref="PipelineDefinition"/>, collecting every shape error with its place. Semantic checks
/// (references, cycles, types) are <see cref="DefinitionValidator"/>'s.
/// </summary>
public static class DefinitionReader
{
    /// <summary>Parses and validates; throws <see cref="DefinitionException"/> naming every problem.</summary>
    public static PipelineDefinition Parse(string text, StepCatalog steps)
    {
        var definition = ReadShape(text);
        var errors = DefinitionValidator.Validate(definition, steps);
        return errors.Count > 0 ? throw new DefinitionException(errors) : definition;
    }

    internal static PipelineDefinition ReadShape(string text)
    {
        var root = ToJson(text);
        var errors = new List<DefinitionError>();
        var reader = new ShapeReader(errors);
        var definition = reader.Pipeline(root);
        return errors.Count > 0 ? throw new DefinitionException(errors) : definition!;
    }

    /// <summary>
    /// The largest definition accepted, in characters. The built-in pipeline is about 6,000; the cap keeps a
    /// request from making the server hold a document far larger than any pipeline needs.
    /// </summary>
    public const int MaxDefinitionChars = 1024 * 1024;

    internal static JsonNode ToJson(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new DefinitionException([new("(document)", "The definition is empty.")]);
        }
        if (text.Length > MaxDefinitionChars)
        {
            throw new DefinitionException([new("(document)", $"The definition has {text.Length:N0} characters; at most {MaxDefinitionChars:N0} are accepted.")]);
        }

        if (text.TrimStart().StartsWith('{'))
        {
            try
            {
                // Duplicate keys are refused here, where the parser knows their place; a JsonObject holding
                // them would only fail later, when first read.
                if (JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false }) is { } json)
                {
                    return json;
                }
            }
            catch (JsonException)
            {
                // A YAML flow mapping ({ name: x, ... }) starts like JSON; the YAML reader below judges it.
            }
        }

        return YamlToJson.Read(text);
    }

    private sealed class ShapeReader(List<DefinitionError> errors)
    {
        private static readonly Dictionary<string, ComparisonOperator> Operators = new(StringComparer.OrdinalIgnoreCase)
        {
            ["eq"] = ComparisonOperator.Eq, ["=="] = ComparisonOperator.Eq,
            ["ne"] = ComparisonOperator.Ne, ["!="] = ComparisonOperator.Ne,
            ["gt"] = ComparisonOperator.Gt, [">"] = ComparisonOperator.Gt,
            ["ge"] = ComparisonOperator.Ge, [">="] = ComparisonOperator.Ge,
            ["lt"] = ComparisonOperator.Lt, ["<"] = ComparisonOperator.Lt,
            ["le"] = ComparisonOperator.Le, ["<="] = ComparisonOperator.Le,
        };

        private static readonly HashSet<string> PipelineKeys = ["name", "description", "parameters", "steps"];
        private static readonly HashSet<string> ParameterKeys =
            ["name", "type", "default", "min", "max", "exclusiveMin", "exclusiveMax", "values", "aliases", "description"];
        private static readonly HashSet<string> StepKeys =
            ["name", "type", "inputs", "dependsOn", "retry", "cache", "condition", "ifTrue", "ifFalse", "command", "timeoutSeconds", "message"];

        public PipelineDefinition? Pipeline(JsonNode root)
        {
            if (root is not JsonObject obj)
            {
                errors.Add(new("(document)", "A definition is a mapping with name, parameters and steps."));
                return null;
            }

            UnknownKeys(obj, PipelineKeys, "(document)");
            var name = RequiredString(obj, "name", "(document)");
            if (name is not null && !IsName(name))
            {
                errors.Add(new("name", $"'{name}' is not a valid pipeline name: use letters, digits, '-' and '_' (at most 64)."));
            }

            var parameters = new List<ParameterDefinition>();
            if (obj["parameters"] is JsonArray ps)
            {
                for (var i = 0; i < ps.Count; i++)
                {
                    if (Parameter(ps[i], $"parameters[{i}]") is { } p)
                    {
                        parameters.Add(p);
                    }
                }
            }
            else if (obj["parameters"] is not null)
            {
                errors.Add(new("parameters", "Expected a list of parameters."));
            }

            var steps = new List<StepDefinition>();
            if (obj["steps"] is JsonArray ss)
            {
                for (var i = 0; i < ss.Count; i++)
                {
                    if (Step(ss[i], i) is { } s)
                    {
                        steps.Add(s);
                    }
                }
            }
            else
            {
                errors.Add(new("steps", "Expected a list of steps (at least one)."));
            }

            return new PipelineDefinition(name ?? "", Optional<string>(obj, "description", "(document)"), parameters, steps);
        }

        private ParameterDefinition? Parameter(JsonNode? node, string where)
        {
            if (node is not JsonObject obj)
            {
                errors.Add(new(where, "Expected a mapping with name and type."));
                return null;
            }

            UnknownKeys(obj, ParameterKeys, where);
            var name = RequiredString(obj, "name", where);
            if (name is not null)
            {
                where = $"parameters[{name}]";
            }

            var typeText = RequiredString(obj, "type", where);
            ValueType type = ValueType.String;
            if (typeText is not null && (!Enum.TryParse(typeText, ignoreCase: true, out type) || type == ValueType.Json || int.TryParse(typeText, out _)))
            {
                errors.Add(new($"{where}.type", $"Unknown parameter type '{typeText}'. Use string, int, float, bool, enum or list."));
            }

            return name is null || typeText is null ? null : new ParameterDefinition(
                name,
                type,
                obj["default"]?.DeepClone(),
                Optional<double?>(obj, "min", where),
                Optional<double?>(obj, "max", where),
                Optional<bool?>(obj, "exclusiveMin", where) ?? false,
                Optional<bool?>(obj, "exclusiveMax", where) ?? false,
                StringList(obj, "values", where),
                StringList(obj, "aliases", where),
                Optional<string>(obj, "description", where));
        }

        private StepDefinition? Step(JsonNode? node, int index)
        {
            var where = $"steps[{index}]";
            if (node is not JsonObject obj)
            {
                errors.Add(new(where, "Expected a mapping with name and type."));
                return null;
            }

            var name = RequiredString(obj, "name", where);
            if (name is not null)
            {
                where = $"steps[{name}]";
            }

            UnknownKeys(obj, StepKeys, where);
            var type = RequiredString(obj, "type", where);
            var inputs = new Dictionary<string, ValueExpression>(StringComparer.Ordinal);
            if (obj["inputs"] is JsonObject inputObj)
            {
                foreach (var (key, value) in inputObj)
                {
                    if (Value(value, $"{where}.inputs.{key}") is { } v)
                    {
                        inputs[key] = v;
                    }
                }
            }
            else if (obj["inputs"] is not null)
            {
                errors.Add(new($"{where}.inputs", "Expected a mapping of input name to value or reference."));
            }

            var retry = RetryPolicy.None;
            if (obj["retry"] is JsonObject r)
            {
                retry = new RetryPolicy(
                    Optional<int?>(r, "maxAttempts", $"{where}.retry") ?? 1,
                    Optional<double?>(r, "delaySeconds", $"{where}.retry") ?? 0,
                    Optional<double?>(r, "backoffFactor", $"{where}.retry") ?? 2);
                if (retry.MaxAttempts is < 1 or > 100)
                {
                    errors.Add(new($"{where}.retry.maxAttempts", $"{retry.MaxAttempts} is outside 1..100."));
                }
                if (retry.DelaySeconds < 0 || retry.BackoffFactor < 1)
                {
                    errors.Add(new($"{where}.retry", "delaySeconds must be ≥ 0 and backoffFactor ≥ 1."));
                }
            }
            else if (obj["retry"] is not null)
            {
                errors.Add(new($"{where}.retry", "Expected a mapping { maxAttempts, delaySeconds, backoffFactor }."));
            }

            ConditionExpression? condition = obj["condition"] is { } c ? Condition(c, $"{where}.condition") : null;
            return name is null || type is null ? null : new StepDefinition(
                name,
                type,
                inputs,
                StringList(obj, "dependsOn", where) ?? [],
                retry,
                Optional<bool?>(obj, "cache", where) ?? false,
                condition,
                StringList(obj, "ifTrue", where),
                StringList(obj, "ifFalse", where),
                StringList(obj, "command", where),
                Optional<double?>(obj, "timeoutSeconds", where),
                Optional<string>(obj, "message", where));
        }

        public ValueExpression? Value(JsonNode? node, string where)
        {
            if (node is not JsonObject obj)
            {
                return new LiteralValue(node?.DeepClone());
            }

            if (obj.ContainsKey("value") && obj.Count == 1)
            {
                return new LiteralValue(obj["value"]?.DeepClone());
            }

            if (obj.ContainsKey("parameter"))
            {
                UnknownKeys(obj, ["parameter"], where);
                return RequiredString(obj, "parameter", where) is { } p ? new ParameterReference(p) : null;
            }

            if (obj.ContainsKey("step"))
            {
                UnknownKeys(obj, ["step", "output", "path"], where);
                var step = RequiredString(obj, "step", where);
                var output = RequiredString(obj, "output", where);
                return step is null || output is null ? null : new StepOutputReference(step, output, Optional<string>(obj, "path", where));
            }

            errors.Add(new(where, "Expected a literal, { value: ... }, { parameter: Name } or { step: Name, output: name[, path: a.b] }."));
            return null;
        }

        private ConditionExpression? Condition(JsonNode node, string where)
        {
            if (node is not JsonObject obj || obj.Count != 1)
            {
                errors.Add(new(where, "Expected one of and: [...], or: [...], not: {...}, or a comparison such as ge: [left, right]."));
                return null;
            }

            var (key, value) = obj.First();
            switch (key.ToLowerInvariant())
            {
                case "and" or "or" when value is JsonArray items && items.Count > 0:
                    var parts = items.Select((item, i) => item is null ? null : Condition(item, $"{where}.{key}[{i}]")).ToList();
                    if (parts.Any(p => p is null))
                    {
                        return null;
                    }
                    return key.Equals("and", StringComparison.OrdinalIgnoreCase) ? new AllOf(parts!) : new AnyOf(parts!);
                case "and" or "or":
                    errors.Add(new($"{where}.{key}", "Expected a non-empty list of conditions."));
                    return null;
                case "not" when value is not null:
                    return Condition(value, $"{where}.not") is { } inner ? new Not(inner) : null;
                default:
                    if (!Operators.TryGetValue(key, out var op))
                    {
                        errors.Add(new($"{where}.{key}", $"Unknown condition '{key}'. Use and, or, not, eq, ne, gt, ge, lt or le."));
                        return null;
                    }
                    if (value is not JsonArray pair || pair.Count != 2)
                    {
                        errors.Add(new($"{where}.{key}", "A comparison takes a list of two values: [left, right]."));
                        return null;
                    }
                    var left = Value(pair[0], $"{where}.{key}[0]");
                    var right = Value(pair[1], $"{where}.{key}[1]");
                    return left is null || right is null ? null : new Comparison(op, left, right);
            }
        }

        private void UnknownKeys(JsonObject obj, IReadOnlyCollection<string> known, string where)
        {
            foreach (var key in obj.Select(kv => kv.Key).Where(k => !known.Contains(k)))
            {
                errors.Add(new($"{where}.{key}", $"Unknown field '{key}'. Known fields: {string.Join(", ", known)}."));
            }
        }

        private string? RequiredString(JsonObject obj, string key, string where)
        {
            if (obj[key] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0)
            {
                return s;
            }

            errors.Add(new($"{where}.{key}", obj[key] is null ? $"'{key}' is required." : $"'{key}' must be a non-empty string."));
            return null;
        }

        private T? Optional<T>(JsonObject obj, string key, string where)
        {
            if (obj[key] is not { } node)
            {
                return default;
            }

            try
            {
                return node.Deserialize<T>();
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
            {
                errors.Add(new($"{where}.{key}", $"'{node.ToJsonString()}' is not a valid {Describe(typeof(T))}."));
                return default;
            }
        }

        private List<string>? StringList(JsonObject obj, string key, string where)
        {
            switch (obj[key])
            {
                case null:
                    return null;
                case JsonArray a when a.All(i => i is JsonValue v && v.TryGetValue<string>(out _)):
                    return [.. a.Select(i => i!.GetValue<string>())];
                case JsonValue v when v.TryGetValue<string>(out var single):
                    return [single];
                default:
                    errors.Add(new($"{where}.{key}", "Expected a list of strings."));
                    return null;
            }
        }

        private static string Describe(Type t) => (Nullable.GetUnderlyingType(t) ?? t).Name switch
        {
            "Double" => "number",
            "Int32" => "whole number",
            "Boolean" => "true/false",
            _ => "string",
        };
    }

    internal static bool IsName(string name) =>
        name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
