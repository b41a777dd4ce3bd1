using System.CommandLine;
using Flotilla.Cli.Client;
using Flotilla.Server;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Flotilla.Cli.Commands;

/// <summary><c>flotilla server [--data DIR] [--urls URL]</c>: the whole platform in this process until Ctrl+C.</summary>
internal sealed class ServerCommand : Command
{
    private static readonly Option<DirectoryInfo?> DataOption = new("--data") { Description = "Folder for the embedded SQLite metadata and artifacts (default: ./.data).", HelpName = "DIR" };
    private static readonly Option<string> UrlsOption = new("--urls")
    {
        Description = "Addresses to listen on.",
        HelpName = "URL",
        DefaultValueFactory = _ => FlotillaClient.DefaultServer,
    };

    public ServerCommand() : base("server", "Run the Flotilla server: REST API, web UI, pipeline workers and a model-serving silo.")
    {
        Options.Add(DataOption);
        Options.Add(UrlsOption);
        // Anything after `--` goes to ASP.NET Core configuration, e.g. -- --Flotilla:Shape=Cluster.
        TreatUnmatchedTokensAsErrors = false;
        SetAction(async (parseResult, cancellationToken) =>
        {
            var args = new List<string> { "--urls", parseResult.GetRequiredValue(UrlsOption) };
            if (parseResult.GetValue(DataOption) is { } data)
            {
                args.Add($"--Flotilla:DataDirectory={data.FullName}");
            }
            args.AddRange(parseResult.UnmatchedTokens);
            try
            {
                var app = FlotillaServer.Build([.. args]);
                // Ctrl+C cancels the token; the host then stops gracefully.
                await ((IHost)app).RunAsync(cancellationToken);
                return ExitCodes.Success;
            }
            catch (Exception e) when (e is OptionsValidationException or IOException or InvalidOperationException)
            {
                // Bad settings or a taken port: one sentence, not a stack trace (the log above has the details).
                await parseResult.InvocationConfiguration.Error.WriteLineAsync($"error: The server did not start: {e.Message}");
                return ExitCodes.Failure;
            }
        });
    }
}
