using Flotilla.Fleet.Aliases;
using Flotilla.Fleet.Models;
using Flotilla.Fleet.Observability;
using Flotilla.Fleet.Rollout;
using Orleans.GrainDirectory;
using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace Flotilla.Fleet.Hosting;

/// <summary>
/// One per silo (its key is the silo's address): the way to reach a particular silo's in-process state —
/// to push an alias change into its cache, or to read its budget and counters for <c>GET /api/endpoint</c>.
/// </summary>
public interface ISiloAgentGrain : IGrainWithStringKey
{
    Task ApplyAliasAsync(string group, Deployment? deployment);

    Task<SiloSnapshot> GetSnapshotAsync();
}

/// <summary>A silo's loaded models and counters at one moment.</summary>
[GenerateSerializer, Immutable]
public sealed record SiloSnapshot(
    [property: Id(0)] string Silo,
    [property: Id(1)] long BudgetBytes,
    [property: Id(2)] long BytesInUse,
    [property: Id(3)] IReadOnlyList<LoadedModelInfo> Models,
    [property: Id(4)] IReadOnlyList<ModelStats> Stats,
    [property: Id(5)] string? Error = null,
    [property: Id(6)] IReadOnlyList<ShadowStatsSnapshot>? Shadows = null)
{
    /// <summary>A silo that is a member but did not answer (joining, leaving, overloaded).</summary>
    public static SiloSnapshot Unreachable(string silo, string error) => new(silo, 0, 0, [], [], error);
}

[GenerateSerializer, Immutable]
public sealed record LoadedModelInfo([property: Id(0)] string ArtifactSha256, [property: Id(1)] long Bytes);

[SiloTargetedPlacement, GrainDirectory(PinnedGrainDirectory.Name)]
internal sealed class SiloAgentGrain(IGrainContext context, AliasCache aliases, ModelBudget budget, FleetMetrics metrics, ShadowTraffic shadows)
    : IGrainBase, ISiloAgentGrain
{
    public IGrainContext GrainContext => context;

    public Task ApplyAliasAsync(string group, Deployment? deployment)
    {
        aliases.Apply(group, deployment);
        return Task.CompletedTask;
    }

    public Task<SiloSnapshot> GetSnapshotAsync() => Task.FromResult(new SiloSnapshot(
        context.Address.SiloAddress!.ToString(),
        budget.CapacityBytes,
        budget.BytesInUse,
        [.. budget.Snapshot().Select(m => new LoadedModelInfo(m.ArtifactSha256, m.Bytes))],
        metrics.Snapshot(),
        Shadows: shadows.Snapshot()));
}

/// <summary>Places a grain on the silo whose address (<see cref="SiloAddress.ToParsableString"/>) is its key.</summary>
[GenerateSerializer, Immutable]
public sealed class SiloTargetedPlacement : PlacementStrategy
{
    internal static readonly SiloTargetedPlacement Instance = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class SiloTargetedPlacementAttribute() : PlacementAttribute(SiloTargetedPlacement.Instance);

internal sealed class SiloTargetedPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var wanted = SiloAddress.FromParsableString(target.GrainIdentity.Key.ToString()!);
        return context.GetCompatibleSilos(target).Contains(wanted)
            ? Task.FromResult(wanted)
            : throw new InvalidOperationException($"Silo {wanted} is not an active member of the fleet; it may have stopped since it was listed.");
    }
}
