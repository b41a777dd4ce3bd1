using System.CommandLine;

namespace Flotilla.Cli.Commands;

/// <summary><c>flotilla dataset add|list</c>.</summary>
internal sealed class DatasetCommand : Command
{
    public DatasetCommand() : base("dataset", "Register CSV datasets and list them.")
    {
        Subcommands.Add(new DatasetAddCommand());
        Subcommands.Add(new DatasetListCommand());
    }
}
