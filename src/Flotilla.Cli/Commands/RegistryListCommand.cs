using System.CommandLine;
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
        if (group is null)
        {
            var groups = await client.ListGroupsAsync(cancellationToken);
            if (console.Json)
                console.WriteJson(groups);
            else if (groups.Count == 0)
                console.Line("No model groups yet; a successful pipeline execution registers one.");
            else
                console.Table(groups, ("name", g => g.Name), ("latest version", g => g.LatestVersion), ("approved count", g => g.ApprovedCount), ("created at", g => g.CreatedAt));
            return ExitCodes.Success;
        }
        var packages = await client.ListPackagesAsync(group, cancellationToken);
        if (console.Json)
            console.WriteJson(packages);
        else if (packages.Count == 0)
            console.Line($"Group {group} has no versions.");
        else
            console.Table(packages, ("id", p => p.Id), ("version", p => p.Version), ("approval status", p => p.ApprovalStatus),
                ("auc", p => p.Metrics.TryGetValue("auc", out var auc) ? auc : null), ("f1", p => p.Metrics.TryGetValue("f1", out var f1) ? f1 : null),
                ("approval description", p => p.ApprovalDescription), ("created at", p => p.CreatedAt));
        return ExitCodes.Success;
    }
}
