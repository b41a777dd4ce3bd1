using System.CommandLine;
using Flotilla.Cli.Commands;

namespace Flotilla.Cli;

/// <summary>The <c>flotilla</c> command tree; <see cref="RunAsync"/> is the program and what tests call in process.</summary>
internal static class FlotillaCli
{
    public static RootCommand Build()
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
            new EndpointCommand(),
            StackCommand.Plan(),
            StackCommand.Apply(),
            StackCommand.Destroy(),
        };
        root.Options.Add(GlobalOptions.Server);
        root.Options.Add(GlobalOptions.Json);
        return root;
    }

    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default) =>
        Build().Parse(args).InvokeAsync(new InvocationConfiguration
        {
            Output = output,
            Error = error,
            // Ctrl+C cancels the command's token; give the server (Orleans silo, open event streams) time to stop cleanly.
            ProcessTerminationTimeout = TimeSpan.FromSeconds(30),
        }, cancellationToken);
}
