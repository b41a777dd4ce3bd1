using System.CommandLine;
using Flotilla.Cli.Client;
using Flotilla.Cli.Terminal;

namespace Flotilla.Cli.Commands;

/// <summary><c>flotilla endpoint</c>: which version serves each group, the instances and their model caches.</summary>
internal sealed class EndpointCommand : ClientCommand
{
    public EndpointCommand() : base("endpoint", "Show the multi-model endpoint: deployed models, instances, cache statistics.")
    {
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CliConsole console, FlotillaClient client, CancellationToken cancellationToken)
    {
        var endpoint = await client.GetEndpointAsync(cancellationToken);
        if (console.Json)
        {
            console.WriteJson(endpoint);
            return ExitCodes.Success;
        }
        var aliases = endpoint.Aliases;
        console.Line(aliases.Count == 0 ? "No model deployed yet; approve a version with `flotilla approve GROUP`." : "Deployed models:");
        if (aliases.Count > 0)
        {
            console.Table(aliases, ("group", a => a.Group), ("package id", a => a.PackageId), ("version", a => a.Version), ("artifact sha256", a => a.ArtifactSha256),
                ("deployed at", a => a.DeployedAt));
        }
        var instances = endpoint.Instances;
        console.Line($"Instances: {instances.Count}");
        if (instances.Count > 0)
        {
            console.Table(instances, ("silo", i => i.Silo), ("models loaded", i => i.ModelsLoaded), ("bytes in use", i => i.BytesInUse), ("budget bytes", i => i.BudgetBytes));
        }
        if (endpoint.Models.Count > 0)
        {
            console.Line("Models:");
            console.Table(endpoint.Models, ("groups", m => m.Groups), ("artifact sha256", m => m.ArtifactSha256), ("loaded on", m => m.LoadedOn),
                ("invocations", m => m.Invocations), ("hits", m => m.Hits), ("misses", m => m.Misses), ("loads", m => m.Loads), ("evictions", m => m.Evictions),
                ("p50 ms", m => m.P50LatencyMilliseconds), ("p99 ms", m => m.P99LatencyMilliseconds));
        }
        var totals = endpoint.Totals;
        console.Line($"Totals: {totals.Instances} instance(s), {totals.ModelsLoaded} model(s) loaded, "
            + $"{CliConsole.Bytes(totals.BytesInUse)} of {CliConsole.Bytes(totals.BudgetBytes)}, "
            + $"hits {totals.Hits}, misses {totals.Misses}, loads {totals.Loads}, evictions {totals.Evictions}");
        return ExitCodes.Success;
    }
}
