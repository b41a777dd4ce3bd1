using System.CommandLine;
using System.Text.Json.Nodes;
using Flotilla.Cli.Client;
using Flotilla.Cli.Terminal;

namespace Flotilla.Cli.Commands;

/// <summary><c>flotilla registry list [GROUP]</c>: the groups, or one group's versions.</summary>
internal sealed class RegistryListCommand : ClientCommand
{
    private static readonly Argument<string?> GroupArgument = new("GROUP") { Description = "List this group's versions.", Arity = ArgumentArity.ZeroOrOne };

    public RegistryListCommand() : base("list", "List model package groups, or the versions of one group.")
    {
        Arguments.Add(GroupArgument);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CliConsole console, FlotillaClient client, CancellationToken cancellationToken)
    {
        var group = parseResult.GetValue(GroupArgument);
        var answer = group is null
            ? await client.GetAsync("/api/registry/groups", cancellationToken)
            : await client.GetAsync($"/api/registry/groups/{Uri.EscapeDataString(group)}/packages", cancellationToken);
        if (console.Json)
        {
            console.WriteJson(answer);
            return ExitCodes.Success;
        }
        var rows = answer as JsonArray ?? answer["groups"] as JsonArray ?? answer["packages"] as JsonArray ?? [];
        if (rows.Count == 0)
        {
            console.Line(group is null ? "No model groups yet; a successful pipeline execution registers one." : $"Group {group} has no versions.");
            return ExitCodes.Success;
        }
        if (group is null)
        {
            console.Table(rows, "name|group", "latestVersion", "approvedCount", "createdAt");
        }
        else
        {
            console.Table(rows, "id|packageId", "version", "approvalStatus|status", "metrics.auc", "metrics.f1", "approvalDescription|description", "createdAt");
        }
        return ExitCodes.Success;
    }
}
