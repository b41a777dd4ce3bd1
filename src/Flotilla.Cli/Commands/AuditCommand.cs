using System.CommandLine;
using System.Text.Json.Nodes;
using Flotilla.Cli.Client;
using Flotilla.Cli.Terminal;

namespace Flotilla.Cli.Commands;

/// <summary><c>flotilla audit [--actor NAME] [--target ID] [--since TIME]</c> (approver or admin).</summary>
internal sealed class AuditCommand : ClientCommand
{
    private static readonly Option<string?> ActorOption = new("--actor") { Description = "Only entries of this principal (a key's name)." };
    private static readonly Option<string?> TargetOption = new("--target") { Description = "Only entries about this target (a package id, group, execution id…)." };
    private static readonly Option<DateTimeOffset?> SinceOption = new("--since") { Description = "Only entries at or after this time (ISO 8601).", HelpName = "TIME" };

    public AuditCommand() : base("audit", "Show the audit log: every state-changing request, allowed or refused, newest first.")
    {
        Options.Add(ActorOption);
        Options.Add(TargetOption);
        Options.Add(SinceOption);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CliConsole console, FlotillaClient client, CancellationToken cancellationToken)
    {
        var query = new List<string>();
        if (parseResult.GetValue(ActorOption) is { Length: > 0 } actor)
            query.Add("actor=" + Uri.EscapeDataString(actor));
        if (parseResult.GetValue(TargetOption) is { Length: > 0 } target)
            query.Add("target=" + Uri.EscapeDataString(target));
        if (parseResult.GetValue(SinceOption) is { } since)
            query.Add("since=" + Uri.EscapeDataString(since.ToString("O")));
        var entries = await client.GetAsync("/api/audit" + (query.Count == 0 ? "" : "?" + string.Join("&", query)), cancellationToken);
        if (console.Json)
            console.WriteJson(entries);
        else
            console.Table(entries as JsonArray ?? [], "at", "actor", "action", "target", "status", "client", "repeats");
        return ExitCodes.Success;
    }
}
