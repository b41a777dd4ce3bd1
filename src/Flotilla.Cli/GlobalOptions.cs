using System.CommandLine;
using Flotilla.Cli.Client;

namespace Flotilla.Cli;

/// <summary>Options every client command accepts (declared once on the root, recursive).</summary>
internal static class GlobalOptions
{
    public const string ServerEnvironmentVariable = "FLOTILLA_SERVER";

    public static readonly Option<Uri> Server = new("--server")
    {
        Description = $"Address of the Flotilla server (default: ${ServerEnvironmentVariable} or {FlotillaClient.DefaultServer}).",
        HelpName = "URL",
        Recursive = true,
        DefaultValueFactory = _ => new Uri(Environment.GetEnvironmentVariable(ServerEnvironmentVariable) is { Length: > 0 } fromEnvironment
            ? fromEnvironment
            : FlotillaClient.DefaultServer),
        CustomParser = result =>
        {
            var text = result.Tokens.Single().Value;
            if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
            {
                return uri;
            }
            result.AddError($"--server '{text}' is not an http(s) URL; try --server http://127.0.0.1:5180.");
            return null;
        },
    };

    public const string TokenEnvironmentVariable = "FLOTILLA_TOKEN";

    public static readonly Option<string?> Token = new("--token")
    {
        Description = $"API key to send (default: ${TokenEnvironmentVariable}; for a server on this machine, the admin key in its data folder).",
        HelpName = "KEY",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(TokenEnvironmentVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : null,
    };

    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Print the server's JSON instead of tables (for scripts).",
        Recursive = true,
    };
}
