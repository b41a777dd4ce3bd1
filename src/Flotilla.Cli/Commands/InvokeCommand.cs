using System.CommandLine;
using System.Text.Json.Nodes;
using Flotilla.Cli.Client;
using Flotilla.Cli.Terminal;

namespace Flotilla.Cli.Commands;

/// <summary><c>flotilla invoke GROUP --csv FILE|-</c>: score rows with the group's deployed version.</summary>
internal sealed class InvokeCommand : ClientCommand
{
    private static readonly Argument<string> GroupArgument = new("GROUP") { Description = "Model group, e.g. multimodel-churn (the endpoint serves its deployed version)." };
    private static readonly Option<string> CsvOption = new("--csv")
    {
        Description = "CSV rows to score with a header naming the feature columns (the label column may be present); '-' reads stdin.",
        Required = true,
        HelpName = "FILE|-",
    };

    private static readonly Option<bool> NoHeaderOption = new("--no-header")
    {
        Description = "The CSV has no header: values are in the model's feature order and sent as text/csv unchanged.",
    };

    public InvokeCommand() : base("invoke", "Score CSV rows with a deployed model.")
    {
        Arguments.Add(GroupArgument);
        Options.Add(CsvOption);
        Options.Add(NoHeaderOption);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CliConsole console, FlotillaClient client, CancellationToken cancellationToken)
    {
        var group = parseResult.GetRequiredValue(GroupArgument);
        var source = parseResult.GetRequiredValue(CsvOption);
        string csv;
        if (source == "-")
        {
            csv = await System.Console.In.ReadToEndAsync(cancellationToken);
        }
        else if (File.Exists(source))
        {
            csv = await File.ReadAllTextAsync(source, cancellationToken);
        }
        else
        {
            throw new CliInputException($"--csv {Path.GetFullPath(source)} does not exist; pass a CSV file or '-' for stdin.");
        }

        var answer = parseResult.GetValue(NoHeaderOption)
            ? await client.InvokeCsvAsync(group, csv, cancellationToken)
            : await client.InvokeAsync(group, ToJsonRows(csv), cancellationToken);
        if (console.Json)
        {
            console.WriteJson(answer);
            return ExitCodes.Success;
        }
        console.Table(answer.Predictions, ("label", p => p.Label), ("probability", p => p.Probability), ("version", _ => answer.Version));
        return ExitCodes.Success;
    }

    /// <summary>CSV with a header as JSON rows: numbers stay numbers, empty cells become null (missing), the rest strings.</summary>
    public static JsonArray ToJsonRows(string csv)
    {
        var lines = csv.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToList();
        if (lines.Count < 2)
        {
            throw new CliInputException("The CSV needs a header row and at least one row to score (or pass --no-header for bare rows).");
        }
        var header = SplitCsvLine(lines[0]);
        var rows = new JsonArray();
        for (var i = 1; i < lines.Count; i++)
        {
            var cells = SplitCsvLine(lines[i]);
            if (cells.Count != header.Count)
            {
                throw new CliInputException($"CSV line {i + 1} has {cells.Count} values but the header has {header.Count} columns.");
            }
            var row = new JsonObject();
            for (var c = 0; c < header.Count; c++)
            {
                row[header[c]] = cells[c].Length == 0 ? null
                    : double.TryParse(cells[c], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) ? JsonValue.Create(d)
                    : JsonValue.Create(cells[c]);
            }
            rows.Add(row);
        }
        return rows;
    }

    private static List<string> SplitCsvLine(string line)
    {
        var cells = new List<string>();
        var cell = new System.Text.StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var ch = line[i];
            if (quoted)
            {
                if (ch == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    cell.Append('"');
                    i++;
                }
                else if (ch == '"')
                {
                    quoted = false;
                }
                else
                {
                    cell.Append(ch);
                }
            }
            else if (ch == '"')
            {
                quoted = true;
            }
            else if (ch == ',')
            {
                cells.Add(cell.ToString().Trim());
                cell.Clear();
            }
            else
            {
                cell.Append(ch);
            }
        }
        cells.Add(cell.ToString().Trim());
        return cells;
    }
}
