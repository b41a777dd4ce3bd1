using System.Text.Json;
using Flotilla.Fleet.Aliases;
using Flotilla.Registry;

namespace Flotilla.Server.Registry;

/// <summary>The registry's and the deployer's values as the API answers them.</summary>
internal static class RegistryContracts
{
    public static Contracts.PackageGroup ToContract(this ModelPackageGroup g) => new(g.Name, g.LatestVersion, g.ApprovedCount, g.CreatedAt);

    public static Contracts.Package ToContract(this ModelPackage p) => new(
        p.Id, p.Group, p.Version, new(p.Artifact.Sha256, p.Artifact.Size, p.Artifact.Uri.OriginalString), p.EvaluationReport, p.Parameters,
        p.Lineage.ToContract(), (Contracts.ApprovalStatus)p.ApprovalStatus, p.ApprovalDescription, p.StatusChangedBy, p.StatusChangedAt, p.CreatedAt);

    /// <summary>Everything but the full evaluation report, whose top-level numbers are kept as metrics.</summary>
    public static Contracts.PackageSummary ToSummary(this ModelPackage p) => new(
        p.Id, p.Group, p.Version, (Contracts.ApprovalStatus)p.ApprovalStatus, p.ApprovalDescription, p.StatusChangedBy, p.StatusChangedAt, p.CreatedAt,
        p.Artifact.Sha256,
        p.EvaluationReport.ValueKind == JsonValueKind.Object
            ? p.EvaluationReport.EnumerateObject().Where(m => m.Value.ValueKind == JsonValueKind.Number).ToDictionary(m => m.Name, m => m.Value.GetDouble())
            : [],
        p.Lineage.ToContract());

    private static Contracts.PackageLineage ToContract(this PackageLineage l) => new(l.ExecutionId, l.StepName, l.DatasetHash);

    public static Contracts.DeploymentRecord ToContract(this DeploymentRecord r) => new(
        r.Group, r.Sequence, r.PackageId, r.Version, r.ArtifactSha256, (Contracts.DeploymentReason)r.Reason, r.From, r.To, (Contracts.DeploymentReason?)r.EndReason);

    public static Contracts.DeploymentFailure ToContract(this DeploymentFailure f) => new(
        f.Group, f.PackageId, f.Version, f.ArtifactSha256, (Contracts.DeploymentReason)f.Reason, f.At, f.Error);

    public static Contracts.Route ToContract(this Fleet.Aliases.Route r) => new(r.Version, r.PackageId, r.ArtifactSha256, r.Weight);

    public static Contracts.ShadowRoute ToContract(this ShadowRoute s) => new(s.Version, s.PackageId, s.ArtifactSha256, s.Percent);

    public static Contracts.Deployment ToContract(this Deployment d) => new(
        d.Group, d.PackageId, d.Version, d.ArtifactSha256, d.DeployedAt, d.Revision,
        d.Policy is { } policy ? new([.. policy.Routes.Select(r => r.ToContract())], policy.StickyHeader, policy.Shadow?.ToContract()) : null);
}
