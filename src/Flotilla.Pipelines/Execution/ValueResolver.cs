using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Steps;

namespace Flotilla.Pipelines.Execution;

/// <summary>Turns references into values during an execution: parameters, step outputs, and values inside them by path.</summary>
public sealed class ValueResolver(PipelineDefinition definition, JsonObject parameters, IReadOnlyDictionary<string, JsonObject> outputs)
{
    public JsonObject Parameters => parameters;

    public JsonNode? Resolve(ValueExpression expression, string where) => expression switch
    {
        LiteralValue l => l.Value?.DeepClone(),
        ParameterReference p => parameters.TryGetPropertyValue(definition.FindParameter(p.Parameter)?.Name ?? p.Parameter, out var value)
            ? value?.DeepClone()
            : throw new StepFailedException($"{where}: parameter '{p.Parameter}' has no value."),
        StepOutputReference s => ResolveOutput(s, where),
        _ => throw new StepFailedException($"{where}: unsupported value."),
    };

    private JsonNode? ResolveOutput(StepOutputReference reference, string where)
    {
        if (!outputs.TryGetValue(reference.Step, out var stepOutputs))
        {
            throw new StepFailedException($"{where}: step '{reference.Step}' has no outputs (it did not succeed).");
        }
        if (!stepOutputs.TryGetPropertyValue(reference.Output, out var value))
        {
            throw new StepFailedException($"{where}: step '{reference.Step}' has no output '{reference.Output}'. Outputs: {string.Join(", ", stepOutputs.Select(kv => kv.Key))}.");
        }
        if (reference.Path is null)
        {
            return value?.DeepClone();
        }

        var path = Interpolate(reference.Path);
        // Like the reference's JsonGet: an output naming a JSON file is read, then the path is followed inside it.
        if (value is JsonValue v && v.TryGetValue<string>(out var file) && file.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                value = JsonNode.Parse(File.ReadAllText(file));
            }
            catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
            {
                throw new StepFailedException($"{where}: cannot read JSON file '{file}' of output '{reference.Step}.{reference.Output}': {e.Message}");
            }
        }

        var current = value;
        foreach (var segment in path.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            current = current switch
            {
                JsonObject o when o.TryGetPropertyValue(segment, out var next) => next,
                JsonArray a when int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count => a[i],
                _ => throw new StepFailedException($"{where}: '{reference.Step}.{reference.Output}' has no value at '{path}' (stopped at '{segment}')."),
            };
        }
        return current?.DeepClone();
    }

    /// <summary>Replaces <c>${Name}</c> with the parameter's value.</summary>
    public string Interpolate(string text) => DefinitionValidator.Placeholder().Replace(text, m =>
        parameters.TryGetPropertyValue(definition.FindParameter(m.Groups[1].Value)?.Name ?? m.Groups[1].Value, out var value) ? AsText(value) : m.Value);

    public static string AsText(JsonNode? value) => value switch
    {
        null => "",
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonArray a => string.Join(",", a.Select(AsText)),
        _ => value.ToJsonString(),
    };

    public bool Evaluate(ConditionExpression condition, string where) => condition switch
    {
        AllOf a => a.Conditions.All(c => Evaluate(c, where)),
        AnyOf o => o.Conditions.Any(c => Evaluate(c, where)),
        Not n => !Evaluate(n.Condition, where),
        Comparison c => Compare(c, where),
        _ => throw new StepFailedException($"{where}: unsupported condition."),
    };

    /// <summary>The comparisons with their values, for the step log ("auc 0.98 >= 0.7").</summary>
    public IEnumerable<string> Explain(ConditionExpression condition, string where) => condition switch
    {
        AllOf a => a.Conditions.SelectMany(c => Explain(c, where)),
        AnyOf o => o.Conditions.SelectMany(c => Explain(c, where)),
        Not n => Explain(n.Condition, where),
        Comparison c => [$"{Resolve(c.Left, where)?.ToJsonString() ?? "null"} {c.Operator.ToString().ToLowerInvariant()} {Resolve(c.Right, where)?.ToJsonString() ?? "null"} → {Compare(c, where).ToString().ToLowerInvariant()}"],
        _ => [],
    };

    private bool Compare(Comparison comparison, string where)
    {
        var left = Resolve(comparison.Left, where);
        var right = Resolve(comparison.Right, where);
        int order;
        if (Number(left) is { } l && Number(right) is { } r)
        {
            order = l.CompareTo(r);
        }
        else if (left is JsonValue lv && right is JsonValue rv && lv.TryGetValue<bool>(out var lb) && rv.TryGetValue<bool>(out var rb))
        {
            order = lb == rb ? 0 : 1;
            if (comparison.Operator is not (ComparisonOperator.Eq or ComparisonOperator.Ne))
            {
                throw new StepFailedException($"{where}: booleans can only be compared with eq or ne.");
            }
        }
        else if (left is JsonValue ls && right is JsonValue rs && ls.TryGetValue<string>(out var a) && rs.TryGetValue<string>(out var b))
        {
            order = string.CompareOrdinal(a, b);
        }
        else
        {
            throw new StepFailedException($"{where}: cannot compare {left?.ToJsonString() ?? "null"} with {right?.ToJsonString() ?? "null"}.");
        }

        return comparison.Operator switch
        {
            ComparisonOperator.Eq => order == 0,
            ComparisonOperator.Ne => order != 0,
            ComparisonOperator.Gt => order > 0,
            ComparisonOperator.Ge => order >= 0,
            ComparisonOperator.Lt => order < 0,
            _ => order <= 0,
        };
    }

    private static double? Number(JsonNode? node) =>
        JsonNumber.Get(node);
}
