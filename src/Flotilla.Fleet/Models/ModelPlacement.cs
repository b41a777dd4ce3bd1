using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace Flotilla.Fleet.Models;

/// <summary>
/// Names a model grain: <c>sha256@silo</c> is the copy of a model on one silo, so a silo holds at most one
/// activation of a model and another silo can take over the moment one fails. There is no key without a silo:
/// the grains' directory (<see cref="Hosting.PinnedGrainDirectory"/>) knows only each silo's own activations.
/// </summary>
public static class ModelKey
{
    private const char Separator = '@';

    public static string On(string artifactSha256, SiloAddress silo) => artifactSha256 + Separator + silo.ToParsableString();

    public static string Sha256Of(string key)
    {
        var at = key.IndexOf(Separator, StringComparison.Ordinal);
        return at < 0 ? key : key[..at];
    }

    internal static SiloAddress? SiloOf(string key)
    {
        var at = key.IndexOf(Separator, StringComparison.Ordinal);
        return at < 0 ? null : SiloAddress.FromParsableString(key[(at + 1)..]);
    }
}

/// <summary>Places <c>sha256@silo</c> on that silo.</summary>
[GenerateSerializer, Immutable]
public sealed class ModelPlacement : PlacementStrategy
{
    internal static readonly ModelPlacement Instance = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class ModelPlacementAttribute() : PlacementAttribute(ModelPlacement.Instance);

internal sealed class ModelPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var key = target.GrainIdentity.Key.ToString()!;
        var wanted = ModelKey.SiloOf(key) ?? throw new ArgumentException(
            $"Model grain key '{key}' names no silo; model grains are addressed as sha256@silo (ModelKey.On).", nameof(target));
        // No fallback to another silo: that silo would then hold two activations of the model. The caller
        // (ModelRouter) treats the failure like a dead silo and routes to the next one.
        return context.GetCompatibleSilos(target).Contains(wanted)
            ? Task.FromResult(wanted)
            : throw new SiloUnavailableException($"Silo {wanted} is not an active member of the fleet; the model's copy there cannot be placed.");
    }
}
