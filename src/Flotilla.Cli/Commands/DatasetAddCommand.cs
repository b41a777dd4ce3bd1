using System.CommandLine;
using System.Net;
using System.Text.Json.Nodes;
using Flotilla.Cli.Client;
using Flotilla.Cli.Terminal;

namespace Flotilla.Cli.Commands;

/// <summary>
/// <c>flotilla dataset add NAME --csv PATH --target COLUMN [--exclude COL …]</c>. A server on this machine
/// reads the file by path; a remote one (or <c>--upload</c>) receives it as a multipart upload.
/// </summary>
internal sealed class DatasetAddCommand : ClientCommand
{
    private static readonly Argument<string> NameArgument = new("NAME") { Description = "Dataset name (letters, digits, '-', '_'); pipelines refer to it as DatasetName." };
    private static readonly Option<FileInfo> CsvOption = new("--csv") { Description = "The CSV file, with a header row.", Required = true, HelpName = "PATH" };
    private static readonly Option<string> TargetOption = new("--target") { Description = "The label column (two distinct values).", Required = true, HelpName = "COLUMN" };
    private static readonly Option<string[]> ExcludeOption = new("--exclude") { Description = "Columns to leave out of the features (ids, leaks).", AllowMultipleArgumentsPerToken = true, HelpName = "COLUMN" };
    private static readonly Option<bool> UploadOption = new("--upload") { Description = "Send the file's bytes instead of its path (automatic for a remote server)." };

    public DatasetAddCommand() : base("add", "Register a CSV file as a dataset.")
    {
        Arguments.Add(NameArgument);
        Options.Add(CsvOption);
        Options.Add(TargetOption);
        Options.Add(ExcludeOption);
        Options.Add(UploadOption);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CliConsole console, FlotillaClient client, CancellationToken cancellationToken)
    {
        var name = parseResult.GetRequiredValue(NameArgument);
        var csv = parseResult.GetRequiredValue(CsvOption);
        var target = parseResult.GetRequiredValue(TargetOption);
        var exclude = parseResult.GetValue(ExcludeOption) ?? [];
        if (!csv.Exists)
        {
            throw new CliInputException($"--csv {csv.FullName} does not exist; pass the path of a CSV file with a header row.");
        }

        var dataset = await AddAsync(client, name, csv, target, exclude, parseResult.GetValue(UploadOption), cancellationToken);
        if (console.Json)
        {
            console.WriteJson(dataset);
        }
        else
        {
            console.Line($"Registered dataset {name}: {CliConsole.Text(dataset["rowCount"] ?? dataset["rows"])} rows, target {target}.");
        }
        return ExitCodes.Success;
    }

    public static Task<JsonNode> AddAsync(FlotillaClient client, string name, FileInfo csv, string target, IReadOnlyList<string> exclude, bool upload, CancellationToken cancellationToken)
    {
        if (upload || !IsLocal(client.BaseAddress))
        {
            var fields = new Dictionary<string, string> { ["name"] = name, ["target"] = target };
            if (exclude.Count > 0)
            {
                fields["exclude"] = string.Join(",", exclude);
            }
            return client.UploadCsvAsync("/api/datasets", csv.Name, csv.OpenRead(), fields, cancellationToken);
        }
        return client.PostJsonAsync("/api/datasets", new { name, path = csv.FullName, target, exclude }, cancellationToken);
    }

    private static bool IsLocal(Uri server) =>
        server.IsLoopback || (IPAddress.TryParse(server.Host, out var ip) && IPAddress.IsLoopback(ip));
}
