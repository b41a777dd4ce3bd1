using System.Text.Json.Nodes;
using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Execution;
using ValueType = Flotilla.Pipelines.Definitions.ValueType;

namespace Flotilla.Pipelines.Steps;

public sealed record InputSpec(string Name, ValueType Type, bool Required = true);

/// <summary>
/// An output a step gives. <see cref="IsFile"/>: a path of a file the step wrote in its work folder, stored
/// relative to the data folder so that a folder moved or restored elsewhere still resumes and reruns.
/// </summary>
public sealed record OutputSpec(string Name, ValueType Type, bool IsFile = false);

/// <summary>
/// A step type: what it takes and gives (for validation when a definition is created) and what it does.
/// One subclass per step type of the definition format.
/// </summary>
public abstract class StepKind
{
    public abstract string Type { get; }

    public abstract IReadOnlyList<InputSpec> Inputs { get; }

    public abstract IReadOnlyList<OutputSpec> Outputs { get; }

    /// <summary>Process steps take any inputs (they become arguments and environment variables).</summary>
    public virtual bool AcceptsAnyInputs => false;

    /// <summary>Process steps' outputs are whatever the command writes, known only when it ran.</summary>
    public virtual bool HasOpenOutputs => false;

    /// <summary>Whether a failure is worth another attempt; a Fail step or a false condition is not.</summary>
    public virtual bool Retryable => true;

    /// <summary>Whether the step's finished trials are kept across attempts and crashes and handed back to it (Tune).</summary>
    public virtual bool KeepsTrials => false;

    /// <summary>Whether the step decides a branch: its <c>result</c> output picks <c>ifTrue</c> or <c>ifFalse</c> (Condition).</summary>
    public virtual bool IsBranch => false;

    /// <summary>Checks of the fields only this type uses (a Condition's test, a Process's command).</summary>
    public virtual IEnumerable<DefinitionError> Validate(StepDefinition step, string where) => [];

    /// <summary>What else decides this step's outputs for caching, beyond its inputs (e.g. a dataset's content hash).</summary>
    public virtual Task<JsonNode?> CacheMaterialAsync(JsonObject inputs, CancellationToken cancellationToken) =>
        Task.FromResult<JsonNode?>(null);

    public abstract Task<JsonObject> RunAsync(StepContext context, CancellationToken cancellationToken);
}

/// <summary>A step ended on purpose (a Fail step, a refused input): the execution fails with this reason, no retry.</summary>
public sealed class StepFailedException(string reason) : Exception(reason);

/// <summary>All step types by name.</summary>
public sealed class StepCatalog(IEnumerable<StepKind> kinds)
{
    private readonly Dictionary<string, StepKind> _kinds = kinds.ToDictionary(k => k.Type, StringComparer.Ordinal);

    public IReadOnlyCollection<string> Types => _kinds.Keys;

    public StepKind? Find(string type) => _kinds.GetValueOrDefault(type);

    public StepKind this[string type] => _kinds.TryGetValue(type, out var kind)
        ? kind
        : throw new StepFailedException($"Unknown step type '{type}'. Known: {string.Join(", ", _kinds.Keys)}.");
}
