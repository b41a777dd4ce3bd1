using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Flotilla.Contracts;

/// <summary>
/// The source-generated JSON metadata of every contract: ASP.NET Core's web defaults (camelCase, case-insensitive
/// reads) with enums as their names. The server puts it first in its resolver chain; clients read and write with it.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true)]
[JsonSerializable(typeof(Problem))]
[JsonSerializable(typeof(ProblemError[]))]
[JsonSerializable(typeof(StartExecutionRequest))]
[JsonSerializable(typeof(ExecutionStarted))]
[JsonSerializable(typeof(IReadOnlyList<ExecutionSummary>))]
[JsonSerializable(typeof(ExecutionDetail))]
[JsonSerializable(typeof(IReadOnlyList<ExecutionTrial>))]
[JsonSerializable(typeof(ExecutionEvent))]
[JsonSerializable(typeof(TuneOutputs))]
[JsonSerializable(typeof(RegisterOutputs))]
[JsonSerializable(typeof(Pipeline))]
[JsonSerializable(typeof(IReadOnlyList<Pipeline>))]
[JsonSerializable(typeof(PipelineDefinitionRequest))]
[JsonSerializable(typeof(RegisterDatasetRequest))]
[JsonSerializable(typeof(Dataset))]
[JsonSerializable(typeof(IReadOnlyList<Dataset>))]
[JsonSerializable(typeof(IReadOnlyList<PackageGroup>))]
[JsonSerializable(typeof(IReadOnlyList<PackageSummary>))]
[JsonSerializable(typeof(Package))]
[JsonSerializable(typeof(EvaluationSummary))]
[JsonSerializable(typeof(UpdateApprovalRequest))]
[JsonSerializable(typeof(IReadOnlyList<DeploymentRecord>))]
[JsonSerializable(typeof(IReadOnlyList<DeploymentFailure>))]
[JsonSerializable(typeof(EndpointView))]
[JsonSerializable(typeof(PinRequest))]
[JsonSerializable(typeof(DeploymentOutcome))]
[JsonSerializable(typeof(CanaryRollout))]
[JsonSerializable(typeof(InvocationAnswer))]
[JsonSerializable(typeof(InvokeRequest))]
[JsonSerializable(typeof(JsonArray))]
[JsonSerializable(typeof(JsonObject))]
[JsonSerializable(typeof(CreateKeyRequest))]
[JsonSerializable(typeof(CreatedKey))]
[JsonSerializable(typeof(IReadOnlyList<ApiKey>))]
[JsonSerializable(typeof(IReadOnlyList<AuditEntry>))]
[JsonSerializable(typeof(CreateBatchJobRequest))]
[JsonSerializable(typeof(BatchJob))]
[JsonSerializable(typeof(IReadOnlyList<BatchJob>))]
[JsonSerializable(typeof(CaptureSetting))]
[JsonSerializable(typeof(CaptureView))]
public sealed partial class FlotillaJson : JsonSerializerContext;
