using System.CommandLine;
using Flotilla.Cli.Client;
using Flotilla.Cli.Terminal;

namespace Flotilla.Cli.Commands;

/// <summary><c>flotilla stop ID</c>.</summary>
internal sealed class StopCommand : ClientCommand
{
    private static readonly Argument<string> IdArgument = new("ID") { Description = "The execution to stop." };

    public StopCommand() : base("stop", "Stop a running execution (running trials finish or are cancelled; nothing is registered).")
    {
        Arguments.Add(IdArgument);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CliConsole console, FlotillaClient client, CancellationToken cancellationToken)
    {
        var id = parseResult.GetRequiredValue(IdArgument);
        var answer = await client.StopExecutionAsync(id, cancellationToken);
        if (console.Json)
        {
            console.WriteJson(answer);
        }
        else
        {
            console.Line($"Stopping execution {id}.");
        }
        return ExitCodes.Success;
    }
}
