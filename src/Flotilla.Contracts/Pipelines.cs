using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Flotilla.Contracts;

/// <summary>The type of a pipeline parameter.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ParameterType>))]
public enum ParameterType { String, Int, Float, Bool, Enum, List, Json }

/// <summary>A typed parameter of a pipeline; no <see cref="Default"/> means the parameter is required.</summary>
public sealed record PipelineParameter(
    string Name,
    ParameterType Type,
    JsonNode? Default,
    double? Min,
    double? Max,
    bool ExclusiveMin,
    bool ExclusiveMax,
    IReadOnlyList<string>? Values,
    IReadOnlyList<string>? Aliases,
    string? Description);

/// <summary>A step of a definition: its name, type, the steps it waits for and the step as its author wrote it.</summary>
public sealed record PipelineStep(string Name, string Type, IReadOnlyList<string> DependsOn, JsonElement Definition);

/// <summary>
/// A pipeline definition as <c>/api/pipelines</c> shows it; <see cref="Source"/> (the text as posted) only when one
/// pipeline is asked for.
/// </summary>
public sealed record Pipeline(
    string Name,
    string? Description,
    bool BuiltIn,
    DateTimeOffset UpdatedAt,
    IReadOnlyList<PipelineParameter> Parameters,
    IReadOnlyList<PipelineStep> Steps,
    string? Source);

/// <summary><c>POST /api/pipelines</c> as JSON: the definition text (YAML or JSON) wrapped.</summary>
public sealed record PipelineDefinitionRequest(string Definition);
