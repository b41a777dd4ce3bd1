using System.CommandLine;
using Flotilla.Cli.Commands;

namespace Flotilla.Cli;

/// <summary>The <c>flotilla</c> command tree; <see cref="RunAsync"/> is the program and what tests call in process.</summary>
internal static class FlotillaCli
{
    // Built once: commands hold their options in static fields, and a symbol belongs to one tree. Parsing
    // and invoking do not change the tree, so concurrent runs (tests) can share it.
    private static readonly Lazy<RootCommand> Root = new(Build);

    private static RootCommand Build()
    {
        var root = new RootCommand("Flotilla: tune, register and serve binary classifiers on one self-hosted platform.")
        {
            new ServerCommand(),
            new DemoCommand(),
            new DatasetCommand(),
            new RunCommand(),
            new ExecutionsCommand(),
            new StopCommand(),
            new RegistryCommand(),
            ReviewCommand.Approve(),
            ReviewCommand.Reject(),
            new InvokeCommand(),
            new ScoreCommand(),
            new EndpointCommand(),
            new AliasCommand(),
            new KeysCommand(),
            new AuditCommand(),
            StackCommand.Plan(),
            StackCommand.Apply(),
            StackCommand.Destroy(),
        };
        root.Options.Add(GlobalOptions.Server);
        root.Options.Add(GlobalOptions.Token);
        root.Options.Add(GlobalOptions.Json);
        return root;
    }

    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default) =>
        Root.Value.Parse(args).InvokeAsync(new InvocationConfiguration
        {
            Output = output,
            Error = error,
            // Ctrl+C cancels the command's token; give the server (Orleans silo, open event streams) time to stop cleanly.
            ProcessTerminationTimeout = TimeSpan.FromSeconds(30),
        }, cancellationToken);
}
