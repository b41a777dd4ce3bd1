using System.Text.Json;
using Flotilla.Pipelines.Datasets;
using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Execution;

namespace Flotilla.Server.Pipelines;

/// <summary>
/// The pipelines component's values as the API answers them. Enums convert by value: <c>ContractEnumTests</c>
/// checks that every contract enum has the domain's names in the domain's order.
/// </summary>
internal static class PipelineContracts
{
    // The step as its author wrote it, in the shape the API has always shown (web defaults).
    private static readonly JsonSerializerOptions DefinitionJson = new(JsonSerializerDefaults.Web);

    public static Contracts.Pipeline ToContract(this StoredPipeline stored, bool withSource)
    {
        var d = stored.Definition;
        return new(d.Name, d.Description, stored.BuiltIn, stored.UpdatedAt,
            [.. d.Parameters.Select(p => new Contracts.PipelineParameter(
                p.Name, (Contracts.ParameterType)p.Type, p.Default, p.Min, p.Max, p.ExclusiveMin, p.ExclusiveMax, p.Values, p.Aliases, p.Description))],
            [.. d.Steps.Select(s => new Contracts.PipelineStep(
                s.Name, s.Type, [.. DefinitionValidator.DependenciesOf(s, d)], JsonSerializer.SerializeToElement(s, DefinitionJson)))],
            withSource ? stored.Source : null);
    }

    public static Contracts.ExecutionSummary ToContract(this ExecutionSummary e) =>
        new(e.Id, e.Pipeline, (Contracts.ExecutionStatus)e.Status, e.Parameters, e.CreatedAt, e.EndedAt, e.FailureReason);

    public static Contracts.ExecutionDetail ToContract(this ExecutionDetail e) =>
        new(e.Id, e.Pipeline, (Contracts.ExecutionStatus)e.Status, e.Parameters, e.CreatedAt, e.EndedAt, e.FailureReason,
            [.. e.Steps.Select(s => new Contracts.ExecutionStep(
                s.Name, s.Type, (Contracts.StepStatus)s.Status, s.Attempts, s.StartedAt, s.EndedAt, s.Outputs, s.Log, s.FailureReason, s.CachedFrom))]);

    public static Contracts.ExecutionTrial ToContract(this ExecutionTrial t) =>
        new(t.Step, t.Number, t.Algorithm, t.Parameters, t.FoldScores, t.Score, Enum.Parse<Contracts.TrialStatus>(t.Status), t.Seconds, t.Planned, t.Reason, t.Silo);

    public static Contracts.ExecutionEvent ToContract(this ExecutionEvent e) =>
        new(e.Type, e.ExecutionId, e.Step, e.Status, e.Message, e.Trial?.ToContract(), e.Execution?.ToContract());

    public static Contracts.Dataset ToContract(this Dataset d) =>
        new(d.Name, d.Path, DatasetCatalog.HasTarget(d) ? d.Target : null, d.Exclude, d.Sha256, d.SizeBytes, d.RowCount,
            [.. d.Columns.Select(c => new Contracts.DatasetColumn(c.Name, c.Kind, c.Missing, c.Categories))], d.LabelBalance, d.CreatedAt, d.UpdatedAt);
}
