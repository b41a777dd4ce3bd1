using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Flotilla.Pipelines.Steps;

namespace Flotilla.Pipelines.Definitions;

/// <summary>
/// The checks made when a definition is created: names unique, step types and parameters known, references
/// resolvable, no cycles, values of the right type. Each error names its place.
/// </summary>
public static partial class DefinitionValidator
{
    [GeneratedRegex(@"\$\{([^}]*)\}")]
    internal static partial Regex Placeholder();

    public static IReadOnlyList<DefinitionError> Validate(PipelineDefinition definition, StepCatalog catalog)
    {
        var errors = new List<DefinitionError>();
        ValidateParameters(definition, errors);

        var steps = new Dictionary<string, StepDefinition>(StringComparer.Ordinal);
        foreach (var step in definition.Steps)
        {
            if (!DefinitionReader.IsName(step.Name))
            {
                errors.Add(new($"steps[{step.Name}].name", "Use letters, digits, '-' and '_' (at most 64)."));
            }
            if (!steps.TryAdd(step.Name, step))
            {
                errors.Add(new($"steps[{step.Name}]", $"Another step is already named '{step.Name}'; step names must be unique."));
            }
        }

        if (definition.Steps.Count == 0)
        {
            errors.Add(new("steps", "A pipeline needs at least one step."));
        }

        foreach (var step in definition.Steps)
        {
            var where = $"steps[{step.Name}]";
            var kind = catalog.Find(step.Type);
            if (kind is null)
            {
                errors.Add(new($"{where}.type", $"Unknown step type '{step.Type}'. Known: {string.Join(", ", catalog.Types)}."));
                continue;
            }

            foreach (var (name, expression) in step.Inputs)
            {
                var spec = kind.Inputs.FirstOrDefault(i => i.Name == name);
                if (spec is null && !kind.AcceptsAnyInputs)
                {
                    errors.Add(new($"{where}.inputs.{name}", $"{step.Type} has no input '{name}'. Inputs: {string.Join(", ", kind.Inputs.Select(i => i.Name))}."));
                    continue;
                }

                var actual = TypeOf(expression, definition, steps, catalog, $"{where}.inputs.{name}", errors);
                if (spec is not null && actual is { } t && !Assignable(t, spec.Type))
                {
                    errors.Add(new($"{where}.inputs.{name}", $"Type mismatch: {step.Type}.{name} takes {Lower(spec.Type)}, but {Describe(expression)} is {Lower(t)}."));
                }
            }

            foreach (var missing in kind.Inputs.Where(i => i.Required && !step.Inputs.ContainsKey(i.Name)))
            {
                errors.Add(new($"{where}.inputs.{missing.Name}", $"{step.Type} requires input '{missing.Name}' ({Lower(missing.Type)})."));
            }

            foreach (var dependency in step.DependsOn.Where(d => !steps.ContainsKey(d)))
            {
                errors.Add(new($"{where}.dependsOn", $"Unknown step '{dependency}'."));
            }

            if (!kind.IsBranch && (step.IfTrue is not null || step.IfFalse is not null || step.Condition is not null))
            {
                errors.Add(new(where, "condition, ifTrue and ifFalse belong to Condition steps only."));
            }

            foreach (var branch in (step.IfTrue ?? []).Concat(step.IfFalse ?? []))
            {
                if (!steps.ContainsKey(branch))
                {
                    errors.Add(new($"{where}.{((step.IfTrue ?? []).Contains(branch) ? "ifTrue" : "ifFalse")}", $"Unknown step '{branch}'."));
                }
                else if (branch == step.Name)
                {
                    errors.Add(new(where, "A condition cannot branch to itself."));
                }
            }

            if (step.Condition is not null)
            {
                ValidateCondition(step.Condition, definition, steps, catalog, $"{where}.condition", errors);
            }

            errors.AddRange(kind.Validate(step, where));
        }

        if (errors.Count == 0)
        {
            FindCycle(definition, errors);
        }

        return errors;
    }

    /// <summary>Every step a step waits for: explicit, referenced, and the condition that gates it.</summary>
    public static IReadOnlySet<string> DependenciesOf(StepDefinition step, PipelineDefinition definition)
    {
        var result = new HashSet<string>(step.DependsOn, StringComparer.Ordinal);
        foreach (var expression in step.Inputs.Values.Concat(ConditionValues(step.Condition)))
        {
            if (expression is StepOutputReference r)
            {
                result.Add(r.Step);
            }
        }

        foreach (var gate in definition.Steps.Where(s => (s.IfTrue ?? []).Contains(step.Name) || (s.IfFalse ?? []).Contains(step.Name)))
        {
            result.Add(gate.Name);
        }

        return result;
    }

    internal static IEnumerable<ValueExpression> ConditionValues(ConditionExpression? condition) => condition switch
    {
        Comparison c => [c.Left, c.Right],
        AllOf a => a.Conditions.SelectMany(ConditionValues),
        AnyOf o => o.Conditions.SelectMany(ConditionValues),
        Not n => ConditionValues(n.Condition),
        _ => [],
    };

    private static void ValidateParameters(PipelineDefinition definition, List<DefinitionError> errors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in definition.Parameters)
        {
            var where = $"parameters[{p.Name}]";
            if (!DefinitionReader.IsName(p.Name))
            {
                errors.Add(new($"{where}.name", "Use letters, digits, '-' and '_' (at most 64)."));
            }
            foreach (var name in (p.Aliases ?? []).Prepend(p.Name))
            {
                if (!names.Add(name))
                {
                    errors.Add(new(where, $"The name '{name}' is used by another parameter or alias."));
                }
            }
            if (p.Type == ValueType.Enum && (p.Values is null || p.Values.Count == 0))
            {
                errors.Add(new($"{where}.values", "An enum parameter lists its allowed values."));
            }
            if (p.Values is not null && p.Type is not (ValueType.Enum or ValueType.List))
            {
                errors.Add(new($"{where}.values", "Only enum and list parameters have allowed values."));
            }
            if ((p.Min is not null || p.Max is not null) && p.Type is not (ValueType.Int or ValueType.Float or ValueType.Enum))
            {
                errors.Add(new(where, "Only int, float and enum parameters have min and max (an enum with a range also takes a number in it)."));
            }
            if (p.Min > p.Max)
            {
                errors.Add(new(where, $"min {p.Min} is above max {p.Max}."));
            }
            if (p.Default is not null && ParameterBinder.Coerce(p, p.Default) is { Error: { } problem })
            {
                errors.Add(new($"{where}.default", problem));
            }
        }
    }

    private static void ValidateCondition(
        ConditionExpression condition, PipelineDefinition definition, Dictionary<string, StepDefinition> steps,
        StepCatalog catalog, string where, List<DefinitionError> errors)
    {
        switch (condition)
        {
            case AllOf a:
                for (var i = 0; i < a.Conditions.Count; i++)
                {
                    ValidateCondition(a.Conditions[i], definition, steps, catalog, $"{where}.and[{i}]", errors);
                }
                break;
            case AnyOf o:
                for (var i = 0; i < o.Conditions.Count; i++)
                {
                    ValidateCondition(o.Conditions[i], definition, steps, catalog, $"{where}.or[{i}]", errors);
                }
                break;
            case Not n:
                ValidateCondition(n.Condition, definition, steps, catalog, $"{where}.not", errors);
                break;
            case Comparison c:
                var place = $"{where}.{c.Operator.ToString().ToLowerInvariant()}";
                var left = TypeOf(c.Left, definition, steps, catalog, $"{place}[0]", errors);
                var right = TypeOf(c.Right, definition, steps, catalog, $"{place}[1]", errors);
                if (left is { } l && right is { } r && !Comparable(l, r, c.Operator))
                {
                    errors.Add(new(place, $"Type mismatch: cannot compare {Describe(c.Left)} ({Lower(l)}) with {Describe(c.Right)} ({Lower(r)}) using {c.Operator.ToString().ToLowerInvariant()}."));
                }
                break;
        }
    }

    private static ValueType? TypeOf(
        ValueExpression expression, PipelineDefinition definition, Dictionary<string, StepDefinition> steps,
        StepCatalog catalog, string where, List<DefinitionError> errors)
    {
        switch (expression)
        {
            case LiteralValue literal:
                return LiteralType(literal.Value);
            case ParameterReference p:
                var parameter = definition.FindParameter(p.Parameter);
                if (parameter is null)
                {
                    errors.Add(new(where, $"Unknown parameter '{p.Parameter}'. Parameters: {string.Join(", ", definition.Parameters.Select(x => x.Name))}."));
                    return null;
                }
                return parameter.Type;
            case StepOutputReference s:
                if (!steps.TryGetValue(s.Step, out var source))
                {
                    errors.Add(new(where, $"Dangling reference: no step named '{s.Step}'."));
                    return null;
                }
                foreach (var name in Placeholder().Matches(s.Path ?? "").Select(m => m.Groups[1].Value))
                {
                    if (definition.FindParameter(name) is null)
                    {
                        errors.Add(new($"{where}.path", $"Unknown parameter '{name}' in path '{s.Path}'."));
                    }
                }
                if (catalog.Find(source.Type) is not { } kind || kind.HasOpenOutputs)
                {
                    return ValueType.Json;
                }
                var output = kind.Outputs.FirstOrDefault(o => o.Name == s.Output);
                if (output is null)
                {
                    errors.Add(new(where, $"Dangling reference: step '{s.Step}' ({source.Type}) has no output '{s.Output}'. Outputs: {string.Join(", ", kind.Outputs.Select(o => o.Name))}."));
                    return null;
                }
                return s.Path is null ? output.Type : ValueType.Json;
            default:
                return null;
        }
    }

    internal static ValueType LiteralType(JsonNode? value) => value switch
    {
        JsonArray => ValueType.List,
        JsonObject or null => ValueType.Json,
        JsonValue v when v.TryGetValue<bool>(out _) => ValueType.Bool,
        JsonValue v when v.TryGetValue<string>(out _) => ValueType.String,
        JsonValue v when v.TryGetValue<long>(out _) || v.TryGetValue<int>(out _) => ValueType.Int,
        _ => ValueType.Float,
    };

    private static bool Assignable(ValueType actual, ValueType expected) =>
        actual == expected || actual == ValueType.Json || expected == ValueType.Json
        || (actual == ValueType.Int && expected == ValueType.Float)
        || (actual is ValueType.Enum or ValueType.String && expected is ValueType.Enum or ValueType.String);

    private static bool Comparable(ValueType left, ValueType right, ComparisonOperator op)
    {
        if (left == ValueType.Json || right == ValueType.Json)
        {
            return true;
        }

        static bool Numeric(ValueType t) => t is ValueType.Int or ValueType.Float;
        static bool Text(ValueType t) => t is ValueType.String or ValueType.Enum;
        return (Numeric(left) && Numeric(right))
            || (Text(left) && Text(right))
            || (left == ValueType.Bool && right == ValueType.Bool && op is ComparisonOperator.Eq or ComparisonOperator.Ne);
    }

    private static void FindCycle(PipelineDefinition definition, List<DefinitionError> errors)
    {
        var dependencies = definition.Steps.ToDictionary(s => s.Name, s => DependenciesOf(s, definition));
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1 visiting, 2 done
        var path = new Stack<string>();

        bool Visit(string name)
        {
            if (state.GetValueOrDefault(name) == 2)
            {
                return false;
            }
            if (state.GetValueOrDefault(name) == 1)
            {
                var cycle = path.Reverse().SkipWhile(n => n != name).Append(name);
                errors.Add(new($"steps[{name}]", $"Cycle: {string.Join(" → ", cycle)}. A step cannot wait for itself."));
                return true;
            }
            state[name] = 1;
            path.Push(name);
            foreach (var dependency in dependencies[name].Order(StringComparer.Ordinal))
            {
                if (Visit(dependency))
                {
                    return true;
                }
            }
            path.Pop();
            state[name] = 2;
            return false;
        }

        foreach (var step in definition.Steps)
        {
            if (Visit(step.Name))
            {
                return;
            }
        }
    }

    private static string Describe(ValueExpression expression) => expression switch
    {
        ParameterReference p => $"parameter '{p.Parameter}'",
        StepOutputReference s when s.Path is not null => $"'{s.Step}.{s.Output}' at '{s.Path}'",
        StepOutputReference s => $"output '{s.Step}.{s.Output}'",
        LiteralValue l => $"the value {l.Value?.ToJsonString() ?? "null"}",
        _ => "the value",
    };

    private static string Lower(ValueType type) => type.ToString().ToLowerInvariant();
}
