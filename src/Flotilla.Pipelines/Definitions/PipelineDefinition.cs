using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Flotilla.Pipelines.Steps;

namespace Flotilla.Pipelines.Definitions;

/// <summary>The type of a pipeline parameter or of a value flowing between steps.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ValueType>))]
public enum ValueType
{
    String,
    Int,
    Float,
    Bool,
    Enum,
    List,
    /// <summary>Any JSON value: a Process step's outputs, or a whole JSON document.</summary>
    Json,
}

/// <summary>A typed parameter of a pipeline. No default means the parameter is required.</summary>
public sealed record ParameterDefinition(
    string Name,
    ValueType Type,
    JsonNode? Default = null,
    double? Min = null,
    double? Max = null,
    bool ExclusiveMin = false,
    bool ExclusiveMax = false,
    IReadOnlyList<string>? Values = null,
    IReadOnlyList<string>? Aliases = null,
    string? Description = null)
{
    [JsonIgnore]
    public bool Required => Default is null;
}

/// <summary>How often a failed step is tried again and how long to wait in between (doubling each time).</summary>
public sealed record RetryPolicy(int MaxAttempts = 1, double DelaySeconds = 0, double BackoffFactor = 2)
{
    public static readonly RetryPolicy None = new();

    public TimeSpan DelayBefore(int attempt) =>
        TimeSpan.FromSeconds(DelaySeconds * Math.Pow(BackoffFactor, Math.Max(0, attempt - 2)));
}

/// <summary>One node of the DAG. Which fields matter depends on <see cref="Type"/>.</summary>
public sealed record StepDefinition(
    string Name,
    string Type,
    IReadOnlyDictionary<string, ValueExpression> Inputs,
    IReadOnlyList<string> DependsOn,
    RetryPolicy Retry,
    bool Cache = false,
    ConditionExpression? Condition = null,
    IReadOnlyList<string>? IfTrue = null,
    IReadOnlyList<string>? IfFalse = null,
    IReadOnlyList<string>? Command = null,
    double? TimeoutSeconds = null,
    string? Message = null);

/// <summary>A pipeline as written by its author: parameters, then steps.</summary>
public sealed record PipelineDefinition(
    string Name,
    string? Description,
    IReadOnlyList<ParameterDefinition> Parameters,
    IReadOnlyList<StepDefinition> Steps)
{
    /// <summary>By name, then alias; then either ignoring case (JSON clients often camelCase what they send).</summary>
    public ParameterDefinition? FindParameter(string nameOrAlias) =>
        Parameters.FirstOrDefault(p => string.Equals(p.Name, nameOrAlias, StringComparison.Ordinal))
        ?? Parameters.FirstOrDefault(p => p.Aliases?.Contains(nameOrAlias, StringComparer.Ordinal) == true)
        ?? Parameters.FirstOrDefault(p => string.Equals(p.Name, nameOrAlias, StringComparison.OrdinalIgnoreCase))
        ?? Parameters.FirstOrDefault(p => p.Aliases?.Contains(nameOrAlias, StringComparer.OrdinalIgnoreCase) == true);

    public StepDefinition? FindStep(string name) => Steps.FirstOrDefault(s => s.Name == name);

    /// <summary>Whether a step runs a user command: such a pipeline needs Process steps switched on, and a trusted author.</summary>
    [JsonIgnore]
    public bool HasProcessStep => Steps.Any(s => s.Type == ProcessStep.TypeName);
}

/// <summary>A step input: a literal, a parameter, or another step's output (optionally a value inside it by path).</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(LiteralValue), "literal")]
[JsonDerivedType(typeof(ParameterReference), "parameter")]
[JsonDerivedType(typeof(StepOutputReference), "stepOutput")]
public abstract record ValueExpression;

public sealed record LiteralValue(JsonNode? Value) : ValueExpression;

public sealed record ParameterReference(string Parameter) : ValueExpression;

/// <summary>
/// <c>{ step, output }</c> or, like the reference's JsonGet, <c>{ step, output, path }</c>: the value at a dotted
/// path inside the output (a JSON value, or a JSON file the output names). The path may contain
/// <c>${ParameterName}</c>, so a parameter can choose the metric.
/// </summary>
public sealed record StepOutputReference(string Step, string Output, string? Path = null) : ValueExpression;

/// <summary>The test of a Condition step: comparisons joined by and/or/not.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(Comparison), "comparison")]
[JsonDerivedType(typeof(AllOf), "and")]
[JsonDerivedType(typeof(AnyOf), "or")]
[JsonDerivedType(typeof(Not), "not")]
public abstract record ConditionExpression;

[JsonConverter(typeof(JsonStringEnumConverter<ComparisonOperator>))]
public enum ComparisonOperator { Eq, Ne, Gt, Ge, Lt, Le }

public sealed record Comparison(ComparisonOperator Operator, ValueExpression Left, ValueExpression Right) : ConditionExpression;

public sealed record AllOf(IReadOnlyList<ConditionExpression> Conditions) : ConditionExpression;

public sealed record AnyOf(IReadOnlyList<ConditionExpression> Conditions) : ConditionExpression;

public sealed record Not(ConditionExpression Condition) : ConditionExpression;
