using System.Globalization;
using System.Net;
using Flotilla.Cli.Client;

namespace Flotilla.Cli.Stacks;

/// <summary>
/// <c>monitoring:</c> in a stack file — what the endpoint keeps of each group's calls:
/// <code>
/// monitoring:
///   capture: { multimodel-churn: 10 }   # percent of the group's calls captured (PUT /api/endpoint/groups/{group}/capture)
/// </code>
/// A group left out keeps whatever it has; <c>destroy</c> returns the listed groups to the server's default.
/// </summary>
internal sealed class StackMonitoring
{
    /// <summary>Group → the share of its calls captured, in percent (0–100).</summary>
    public Dictionary<string, double?> Capture { get; set; } = [];

    /// <summary>Refuses what the server would, naming the file, the line and the key.</summary>
    public void Validate(string path, StackLocations locations)
    {
        foreach (var (group, percent) in Capture)
        {
            var key = $"monitoring.capture.{group}";
            var where = $"{path} line {locations.LineOf(key)?.ToString(CultureInfo.InvariantCulture) ?? "?"}: {key}";
            if (percent is not { } p || !double.IsFinite(p) || p is < 0 or > 100)
            {
                throw new StackException(
                    $"{where}: {(percent is { } value ? value.ToString(CultureInfo.InvariantCulture) : "no value")} is not a share of calls; give a percentage from 0 to 100 (0 captures nothing).");
            }
        }
    }
}

/// <summary>
/// The capture settings a stack asks for against the server's: apply sets each listed group's own share (after the
/// runs that may register the group), destroy returns the listed groups that have their own to the server's default.
/// </summary>
internal sealed class StackMonitoringPlan(FlotillaClient client)
{
    public async Task<IReadOnlyList<StackChange>> ForApplyAsync(StackMonitoring monitoring, CancellationToken cancellationToken)
    {
        var changes = new List<StackChange>();
        foreach (var (group, wanted) in monitoring.Capture)
        {
            var percent = wanted!.Value;
            var current = await FindAsync(group, cancellationToken);
            if (current is { OwnSetting: true } && current.Percent.Equals(percent))
            {
                continue;
            }
            var now = current is null ? "no version registered yet" : $"now {Percent(current.Percent)}{(current.OwnSetting ? "" : ", the server's default")}";
            changes.Add(new(current is { OwnSetting: true } ? '~' : '+', "capture", group, $"{Percent(percent)} of calls ({now})",
                ct => client.SetCaptureAsync(group, percent, ct)));
        }
        return changes;
    }

    public async Task<IReadOnlyList<StackChange>> ForDestroyAsync(StackMonitoring monitoring, CancellationToken cancellationToken)
    {
        var changes = new List<StackChange>();
        foreach (var group in monitoring.Capture.Keys)
        {
            if (await FindAsync(group, cancellationToken) is { OwnSetting: true } current)
            {
                changes.Add(new('-', "capture", group, $"{Percent(current.Percent)} of calls, back to the server's default",
                    ct => client.SetCaptureAsync(group, null, ct)));
            }
        }
        return changes;
    }

    /// <summary>The group's capture, or null while no version of it is registered.</summary>
    private async Task<Contracts.CaptureView?> FindAsync(string group, CancellationToken cancellationToken)
    {
        try
        {
            return await client.GetCaptureAsync(group, cancellationToken);
        }
        catch (FlotillaApiException e) when (e.Status == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private static string Percent(double value) => $"{value.ToString("0.###", CultureInfo.InvariantCulture)} %";
}
