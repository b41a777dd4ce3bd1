using System.Text.Json;
using System.Text.Json.Nodes;
using Flotilla.Pipelines.Execution;
using Flotilla.Registry;
using Flotilla.Storage.Artifacts;
using ValueType = Flotilla.Pipelines.Definitions.ValueType;

namespace Flotilla.Pipelines.Steps;

/// <summary>
/// Registers the model in group <c>&lt;pipeline&gt;-&lt;dataset&gt;</c> with its artifact, evaluation report, the
/// execution's parameters and lineage. Run again after a crash, it finds the package this execution already
/// registered instead of making a second version; and when the group's latest version already has the same
/// artifact (a re-run that changed nothing), it reports that version instead of registering a duplicate.
/// </summary>
public sealed class RegisterStep(ModelRegistry registry, IArtifactStore artifacts) : StepKind
{
    public override string Type => "Register";

    public override IReadOnlyList<InputSpec> Inputs { get; } =
    [
        new("model", ValueType.String),
        new("evaluation", ValueType.Json),
        new("dataset", ValueType.String),
        new("modelSha256", ValueType.String, Required: false),
        new("datasetSha256", ValueType.String, Required: false),
        new("approvalStatus", ValueType.String, Required: false),
        new("group", ValueType.String, Required: false),
        new("description", ValueType.String, Required: false),
    ];

    public override IReadOnlyList<OutputSpec> Outputs { get; } =
    [
        new("packageId", ValueType.String),
        new("group", ValueType.String),
        new("version", ValueType.Int),
        new("approvalStatus", ValueType.String),
        new("artifactSha256", ValueType.String),
    ];

    public override async Task<JsonObject> RunAsync(StepContext context, CancellationToken cancellationToken)
    {
        var inputs = context.Inputs;
        var group = StepInputs.String(inputs, "group", ModelRegistry.GroupName(context.Pipeline.Name, StepInputs.String(inputs, "dataset")));
        var statusText = StepInputs.String(inputs, "approvalStatus", nameof(ApprovalStatus.PendingManualApproval));
        if (!Enum.TryParse<ApprovalStatus>(statusText, ignoreCase: true, out var status) || status == ApprovalStatus.Rejected)
        {
            throw new StepFailedException($"{context.Where}.inputs.approvalStatus: '{statusText}' is not PendingManualApproval or Approved.");
        }

        var existing = (await registry.ListPackagesAsync(group, null, PackageSort.Version, cancellationToken))
            .FirstOrDefault(p => p.Lineage.ExecutionId == context.ExecutionId && p.Lineage.StepName == context.Step.Name);
        if (existing is not null)
        {
            context.Log.Line($"already registered by this execution before a restart: {existing.Id}");
            return Describe(existing);
        }

        var bytes = await File.ReadAllBytesAsync(StepInputs.String(inputs, "model"), cancellationToken);
        var artifact = await artifacts.PutAsync(bytes, cancellationToken);
        if (inputs["modelSha256"] is JsonValue expected && expected.GetValue<string>() != artifact.Sha256)
        {
            throw new StepFailedException($"{context.Where}: the model file hashes to {artifact.Sha256}, not {expected}; it changed after training.");
        }

        var evaluation = inputs["evaluation"] switch
        {
            JsonValue v when v.TryGetValue<string>(out var file) => JsonDocument.Parse(await File.ReadAllTextAsync(file, cancellationToken)).RootElement.Clone(),
            JsonObject o => JsonSerializer.SerializeToElement(o),
            var other => throw new StepFailedException($"{context.Where}.inputs.evaluation: expected the evaluation report or its file, not {other?.ToJsonString() ?? "null"}."),
        };
        // A server whose execution was taken over (it stalled past its lease) must not register (nor, through an
        // Approved registration's event, deploy): the check runs in the registration's own transaction.
        var (package, registered) = await registry.RegisterUnlessLatestAsync(new RegisterModelPackage(
            group,
            artifact,
            evaluation,
            JsonSerializer.SerializeToElement(context.Parameters),
            new PackageLineage(context.ExecutionId, context.Step.Name, StepInputs.String(inputs, "datasetSha256", "")),
            status,
            inputs["description"] is JsonValue d ? d.GetValue<string>() : $"Registered by execution {context.ExecutionId} of {context.Pipeline.Name}."),
            context.EnsureHeldAsync,
            cancellationToken);
        context.Log.Line(registered
            ? $"registered {package.Id} (version {package.Version}, {package.ApprovalStatus}) with artifact {artifact.Sha256}"
            : $"not registered again: the group's latest version {package.Id} ({package.ApprovalStatus}) has the same artifact {artifact.Sha256}");
        return Describe(package);
    }

    private static JsonObject Describe(ModelPackage package) => new()
    {
        ["packageId"] = package.Id,
        ["group"] = package.Group,
        ["version"] = package.Version,
        ["approvalStatus"] = package.ApprovalStatus.ToString(),
        ["artifactSha256"] = package.Artifact.Sha256,
    };
}
