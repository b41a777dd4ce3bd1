using System.CommandLine;
using System.Text.Json.Nodes;
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
        var endpoint = await client.GetAsync("/api/endpoint", cancellationToken);
        if (console.Json)
        {
            console.WriteJson(endpoint);
            return ExitCodes.Success;
        }
        var aliases = AliasRows(endpoint);
        console.Line(aliases.Count == 0 ? "No model deployed yet; approve a version with `flotilla approve GROUP`." : "Deployed models:");
        if (aliases.Count > 0)
        {
            console.Table(aliases, "group", "packageId|id", "version", "artifactSha256|artifact", "deployedAt");
        }
        var instances = endpoint["instances"] as JsonArray ?? endpoint["silos"] as JsonArray ?? [];
        console.Line($"Instances: {instances.Count}");
        if (instances.Count > 0)
        {
            console.Table(instances, "silo|id|instance|address", "modelsLoaded|loadedModels", "bytesInUse|bytesUsed", "budgetBytes|memoryBudgetBytes");
        }
        if (endpoint["models"] is JsonArray { Count: > 0 } models)
        {
            console.Line("Models:");
            console.Table(models, "groups", "artifactSha256", "loadedOn", "invocations", "hits", "misses", "loads", "evictions", "p50 ms=p50LatencyMilliseconds", "p99 ms=p99LatencyMilliseconds");
        }
        if (endpoint["totals"] is JsonObject totals)
        {
            console.Line($"Totals: {CliConsole.Text(totals["instances"])} instance(s), {CliConsole.Text(totals["modelsLoaded"])} model(s) loaded, "
                + $"{CliConsole.Bytes(totals["bytesInUse"]?.GetValue<double>() ?? 0)} of {CliConsole.Bytes(totals["budgetBytes"]?.GetValue<double>() ?? 0)}, "
                + $"hits {CliConsole.Text(totals["hits"])}, misses {CliConsole.Text(totals["misses"])}, loads {CliConsole.Text(totals["loads"])}, evictions {CliConsole.Text(totals["evictions"])}");
        }
        return ExitCodes.Success;
    }

    /// <summary>The alias map as rows with a "group" field, whether the server sends an array or an object keyed by group.</summary>
    public static JsonArray AliasRows(JsonNode endpoint)
    {
        var node = endpoint["aliases"] ?? endpoint["aliasMap"];
        if (node is JsonArray array)
        {
            return array;
        }
        var rows = new JsonArray();
        if (node is JsonObject map)
        {
            foreach (var (group, value) in map)
            {
                var row = value is JsonObject o ? (JsonObject)o.DeepClone() : new JsonObject { ["artifact"] = value?.DeepClone() };
                row["group"] ??= group;
                rows.Add(row);
            }
        }
        return rows;
    }
}
