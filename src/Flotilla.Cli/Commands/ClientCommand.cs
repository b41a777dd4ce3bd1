using System.CommandLine;
using System.Net;
using Flotilla.Cli.Client;
using Flotilla.Cli.Terminal;

namespace Flotilla.Cli.Commands;

/// <summary>
/// A command that talks to a server: builds the console and the client from the global options and turns
/// every failure into one sentence on stderr and a named exit code, never a stack trace.
/// </summary>
internal abstract class ClientCommand : Command
{
    protected ClientCommand(string name, string description) : base(name, description)
    {
        SetAction(async (parseResult, cancellationToken) =>
        {
            var invocation = parseResult.InvocationConfiguration;
            var console = CliConsole.Create(invocation.Output, invocation.Error, parseResult.GetValue(GlobalOptions.Json));
            var server = parseResult.GetRequiredValue(GlobalOptions.Server);
            using var client = FlotillaClient.Create(server, Credentials.Resolve(parseResult.GetValue(GlobalOptions.Token), server));
            return await RunGuardedAsync(console, () => ExecuteAsync(parseResult, console, client, cancellationToken));
        });
    }

    protected abstract Task<int> ExecuteAsync(ParseResult parseResult, CliConsole console, FlotillaClient client, CancellationToken cancellationToken);

    public static async Task<int> RunGuardedAsync(CliConsole console, Func<Task<int>> run)
    {
        try
        {
            return await run();
        }
        catch (FlotillaApiException e)
        {
            console.Fail(e.Message);
            return e.Status == HttpStatusCode.NotFound ? ExitCodes.NotFound
                : (int)e.Status is >= 400 and < 500 ? ExitCodes.InvalidInput
                : ExitCodes.Failure;
        }
        catch (FlotillaUnreachableException e)
        {
            console.Fail(e.Message);
            return ExitCodes.ServerUnreachable;
        }
        catch (CliInputException e)
        {
            console.Fail(e.Message);
            return ExitCodes.InvalidInput;
        }
        catch (OperationCanceledException)
        {
            console.Fail("Cancelled.");
            return ExitCodes.Cancelled;
        }
    }
}

/// <summary>The user's input is wrong (a file, a parameter, a stack entry); the message says what and how to fix it.</summary>
internal sealed class CliInputException(string message) : Exception(message);
