using System.CommandLine;
using Flotilla.Cli.Client;
using Flotilla.Cli.Terminal;

namespace Flotilla.Cli.Commands;

/// <summary><c>flotilla dataset list</c>.</summary>
internal sealed class DatasetListCommand : ClientCommand
{
    public DatasetListCommand() : base("list", "List registered datasets with row counts and label balance.")
    {
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CliConsole console, FlotillaClient client, CancellationToken cancellationToken)
    {
        var rows = await client.ListDatasetsAsync(cancellationToken);
        if (console.Json)
        {
            console.WriteJson(rows);
            return ExitCodes.Success;
        }
        if (rows.Count == 0)
        {
            console.Line("No datasets yet; add one with `flotilla dataset add NAME --csv PATH --target COLUMN`.");
            return ExitCodes.Success;
        }
        console.Table(rows, ("name", d => d.Name), ("target", d => d.Target ?? "(scoring only)"), ("row count", d => d.RowCount), ("label balance", d => d.LabelBalance),
            ("path", d => d.Path), ("updated at", d => d.UpdatedAt));
        return ExitCodes.Success;
    }
}
