using System.CommandLine;
using System.Text.Json.Nodes;
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
        var datasets = await client.GetAsync("/api/datasets", cancellationToken);
        if (console.Json)
        {
            console.WriteJson(datasets);
            return ExitCodes.Success;
        }
        var rows = datasets as JsonArray ?? datasets["datasets"] as JsonArray ?? [];
        if (rows.Count == 0)
        {
            console.Line("No datasets yet; add one with `flotilla dataset add NAME --csv PATH --target COLUMN`.");
            return ExitCodes.Success;
        }
        console.Table(rows, "name", "target", "rowCount", "labelBalance", "path", "updatedAt|createdAt");
        return ExitCodes.Success;
    }
}
