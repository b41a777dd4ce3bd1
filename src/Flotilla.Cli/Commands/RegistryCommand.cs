using System.CommandLine;

namespace Flotilla.Cli.Commands;

/// <summary><c>flotilla registry list|show</c>.</summary>
internal sealed class RegistryCommand : Command
{
    public RegistryCommand() : base("registry", "Browse model package groups and their versions.")
    {
        Subcommands.Add(new RegistryListCommand());
        Subcommands.Add(new RegistryShowCommand());
    }
}
