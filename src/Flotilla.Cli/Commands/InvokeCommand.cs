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
        Description = "CSV rows to score, with the training header (the label column may be absent); '-' reads stdin.",
        Required = true,
        HelpName = "FILE|-",
    };

    public InvokeCommand() : base("invoke", "Score CSV rows with a deployed model.")
    {
        Arguments.Add(GroupArgument);
        Options.Add(CsvOption);
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

        var answer = await InvokeAsync(client, group, csv, cancellationToken);
        if (console.Json)
        {
            console.WriteJson(answer);
            return ExitCodes.Success;
        }
        var rows = Predictions(answer);
        if (rows.Count > 0)
        {
            console.Table(rows, "label|predictedLabel|prediction", "probability|score", "model|modelVersion|version");
        }
        else
        {
            console.Line(CliConsole.Text(answer));
        }
        return ExitCodes.Success;
    }

    public static Task<JsonNode> InvokeAsync(FlotillaClient client, string group, string csv, CancellationToken cancellationToken) =>
        client.PostCsvAsync($"/models/{Uri.EscapeDataString(group)}/invocations", csv, cancellationToken);

    /// <summary>The predictions array, whether the server answers with a bare array or wraps it.</summary>
    public static JsonArray Predictions(JsonNode answer) =>
        answer as JsonArray ?? answer["predictions"] as JsonArray ?? answer["results"] as JsonArray ?? [];
}
