using System.CommandLine;
using Flotilla.Cli.Client;
using Flotilla.Cli.Terminal;
using Flotilla.Contracts;

namespace Flotilla.Cli.Commands;

/// <summary>
/// <c>flotilla dataset add NAME --csv PATH [--target COLUMN] [--exclude COL …] [--server-path]</c>. The file is
/// uploaded: a server reads paths only under its data roots, so a path of the CLI's machine is no use to it.
/// <c>--server-path</c> sends the path instead, for a file already in one of the server's data roots (and larger than
/// an upload may be). Without <c>--target</c> the dataset is for scoring only (batch jobs), not for training.
/// </summary>
internal sealed class DatasetAddCommand : ClientCommand
{
    private static readonly Argument<string> NameArgument = new("NAME") { Description = "Dataset name (letters, digits, '-', '_'); pipelines refer to it as DatasetName." };
    private static readonly Option<FileInfo> CsvOption = new("--csv") { Description = "The CSV file, with a header row.", Required = true, HelpName = "PATH" };
    private static readonly Option<string> TargetOption = new("--target") { Description = "The label column (two distinct values); leave it out for a file that is only scored (flotilla score).", HelpName = "COLUMN" };
    private static readonly Option<string[]> ExcludeOption = new("--exclude") { Description = "Columns to leave out of the features (ids, leaks).", AllowMultipleArgumentsPerToken = true, HelpName = "COLUMN" };
    private static readonly Option<bool> ServerPathOption = new("--server-path") { Description = "Send the path instead of the file: the server reads it from one of its data roots (default <data>/imports)." };

    public DatasetAddCommand() : base("add", "Register a CSV file as a dataset.")
    {
        Arguments.Add(NameArgument);
        Options.Add(CsvOption);
        Options.Add(TargetOption);
        Options.Add(ExcludeOption);
        Options.Add(ServerPathOption);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CliConsole console, FlotillaClient client, CancellationToken cancellationToken)
    {
        var name = parseResult.GetRequiredValue(NameArgument);
        var csv = parseResult.GetRequiredValue(CsvOption);
        var target = parseResult.GetValue(TargetOption);
        var exclude = parseResult.GetValue(ExcludeOption) ?? [];
        var serverPath = parseResult.GetValue(ServerPathOption);
        if (!serverPath && !csv.Exists)
        {
            throw new CliInputException($"--csv {csv.FullName} does not exist; pass the path of a CSV file with a header row.");
        }

        var dataset = await AddAsync(client, name, csv, target, exclude, serverPath, cancellationToken);
        if (console.Json)
        {
            console.WriteJson(dataset);
        }
        else
        {
            console.Line(target is null
                ? $"Registered dataset {name}: {dataset.RowCount} rows, for scoring only (no target)."
                : $"Registered dataset {name}: {dataset.RowCount} rows, target {target}.");
        }
        return ExitCodes.Success;
    }

    public static async Task<Dataset> AddAsync(FlotillaClient client, string name, FileInfo csv, string? target, IReadOnlyList<string> exclude, bool serverPath, CancellationToken cancellationToken)
    {
        if (serverPath)
        {
            return await client.RegisterDatasetAsync(new RegisterDatasetRequest(name, csv.FullName, target, exclude), cancellationToken);
        }
        await using var file = csv.OpenRead();
        return await client.UploadDatasetAsync(name, target, exclude, csv.Name, file, cancellationToken);
    }
}
