using System.CommandLine;
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
        var entries = await client.ListAuditAsync(
            parseResult.GetValue(ActorOption), parseResult.GetValue(TargetOption), parseResult.GetValue(SinceOption), cancellationToken);
        if (console.Json)
            console.WriteJson(entries);
        else
            console.Table(entries, ("at", e => e.At), ("actor", e => e.Actor), ("action", e => e.Action), ("target", e => e.Target), ("status", e => e.Status),
                ("client", e => e.Client), ("repeats", e => e.Repeats));
        return ExitCodes.Success;
    }
}
