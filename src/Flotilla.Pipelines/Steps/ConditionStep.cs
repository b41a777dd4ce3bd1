using System.Text.Json.Nodes;
using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Execution;
using ValueType = Flotilla.Pipelines.Definitions.ValueType;

namespace Flotilla.Pipelines.Steps;

/// <summary>Evaluates its condition; the engine runs the <c>ifTrue</c> or the <c>ifFalse</c> steps and skips the others.</summary>
public sealed class ConditionStep : StepKind
{
    public override string Type => "Condition";

    public override bool IsBranch => true;

    public override IReadOnlyList<InputSpec> Inputs { get; } = [];

    public override IReadOnlyList<OutputSpec> Outputs { get; } = [new("result", ValueType.Bool)];

    public override bool Retryable => false;

    public override IEnumerable<DefinitionError> Validate(StepDefinition step, string where)
    {
        if (step.Condition is null)
        {
            yield return new($"{where}.condition", "A Condition step needs a condition, e.g. ge: [{ step: Evaluate, output: metrics, path: auc }, 0.7].");
        }
    }

    public override Task<JsonObject> RunAsync(StepContext context, CancellationToken cancellationToken)
    {
        var where = $"{context.Where}.condition";
        var result = context.Resolver.Evaluate(context.Step.Condition!, where);
        foreach (var line in context.Resolver.Explain(context.Step.Condition!, where))
        {
            context.Log.Line(line);
        }
        context.Log.Line($"condition is {result.ToString().ToLowerInvariant()}");
        return Task.FromResult(new JsonObject { ["result"] = result });
    }
}

/// <summary>Ends the execution as Failed with its message (placeholders <c>${inputs.x}</c> and <c>${Parameter}</c> filled in).</summary>
public sealed class FailStep : StepKind
{
    public override string Type => "Fail";

    public override IReadOnlyList<InputSpec> Inputs { get; } = [];

    public override IReadOnlyList<OutputSpec> Outputs { get; } = [];

    public override bool AcceptsAnyInputs => true;

    public override bool Retryable => false;

    public override Task<JsonObject> RunAsync(StepContext context, CancellationToken cancellationToken)
    {
        var message = context.Step.Message ?? $"The pipeline reached its Fail step '{context.Step.Name}'.";
        foreach (var (name, value) in context.Inputs)
        {
            message = message.Replace($"${{inputs.{name}}}", ValueResolver.AsText(value), StringComparison.Ordinal);
        }
        throw new StepFailedException(context.Resolver.Interpolate(message));
    }
}
