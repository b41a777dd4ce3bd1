using System.CommandLine;
using System.Text.Json.Nodes;
using Flotilla.Cli.Client;
using Flotilla.Cli.Terminal;
using Spectre.Console;

namespace Flotilla.Cli.Commands;

/// <summary>
/// <c>flotilla score GROUP --dataset NAME | --csv PATH --target COLUMN [--out FILE]</c>: a batch job on the server
/// (<c>POST /api/batch-jobs</c>), followed to its end with a progress bar, then its result CSV downloaded. With
/// <c>--csv</c> the file is uploaded as a dataset first, named <c>scoring-&lt;file name&gt;</c> so that it never
/// replaces a dataset a pipeline trained on.
/// </summary>
internal sealed class ScoreCommand : ClientCommand
{
    private static readonly Argument<string> GroupArgument = new("GROUP") { Description = "The model group whose deployed version scores the rows." };
    private static readonly Option<string> DatasetOption = new("--dataset") { Description = "A registered dataset to score.", HelpName = "NAME" };
    private static readonly Option<FileInfo> CsvOption = new("--csv") { Description = "A local CSV to upload as a dataset and score.", HelpName = "PATH" };
    private static readonly Option<string> TargetOption = new("--target") { Description = "With --csv: its label column (a dataset needs one).", HelpName = "COLUMN" };
    private static readonly Option<FileInfo> OutOption = new("--out") { Description = "Where to write the scored CSV.", DefaultValueFactory = _ => new FileInfo("scored.csv"), HelpName = "FILE" };

    public ScoreCommand() : base("score", "Score a whole dataset with a group's deployed model as a batch job and download the result.")
    {
        Arguments.Add(GroupArgument);
        Options.Add(DatasetOption);
        Options.Add(CsvOption);
        Options.Add(TargetOption);
        Options.Add(OutOption);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CliConsole console, FlotillaClient client, CancellationToken cancellationToken)
    {
        var group = parseResult.GetRequiredValue(GroupArgument);
        var dataset = parseResult.GetValue(DatasetOption);
        var csv = parseResult.GetValue(CsvOption);
        var output = parseResult.GetRequiredValue(OutOption);
        if ((dataset is null) == (csv is null))
            throw new CliInputException("Pass either --dataset NAME (a registered dataset) or --csv PATH --target COLUMN (a file to upload).");
        if (csv is not null)
        {
            var target = parseResult.GetValue(TargetOption)
                ?? throw new CliInputException("--csv needs --target COLUMN: the file is registered as a dataset, which names its label column.");
            if (!csv.Exists)
                throw new CliInputException($"--csv {csv.FullName} does not exist; pass the path of a CSV file with a header row.");
            dataset = DatasetName(csv);
            await DatasetAddCommand.AddAsync(client, dataset, csv, target, [], serverPath: false, cancellationToken);
        }

        var job = await client.PostJsonAsync("/api/batch-jobs", new { group, dataset }, cancellationToken);
        var id = CliConsole.Text(job["id"]);
        job = await FollowAsync(client, console, id, job, cancellationToken);
        var status = CliConsole.Text(job["status"]);
        if (status != "Succeeded")
        {
            if (console.Json)
                console.WriteJson(job);
            console.Fail($"Batch job {id} {status}: {CliConsole.Text(job["failureReason"])}");
            return ExitCodes.ExecutionFailed;
        }

        var partial = new FileInfo(output.FullName + ".partial");
        await using (var file = partial.Create())
            await client.DownloadAsync($"/api/batch-jobs/{id}/result", file, cancellationToken);
        partial.MoveTo(output.FullName, overwrite: true);
        if (console.Json)
            console.WriteJson(job);
        else
            console.Line($"Scored {CliConsole.Text(job["rowsDone"])} rows with {CliConsole.Text(job["packageId"])} → {output.FullName}");
        return ExitCodes.Success;
    }

    private static string DatasetName(FileInfo csv)
    {
        var name = new string([.. Path.GetFileNameWithoutExtension(csv.Name).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-')]);
        return $"scoring-{name}";
    }

    /// <summary>Polls the job until it ends, drawing a progress bar on a terminal; Ctrl+C cancels the job on the server too.</summary>
    private static async Task<JsonNode> FollowAsync(FlotillaClient client, CliConsole console, string id, JsonNode job, CancellationToken cancellationToken)
    {
        try
        {
            if (!console.Interactive)
                return await PollAsync(client, id, job, _ => { }, cancellationToken);
            return await console.Ansi.Progress().StartAsync(async context =>
            {
                var bar = context.AddTask($"Scoring ({id[..Math.Min(8, id.Length)]})", maxValue: Math.Max(1, job["rowsTotal"]?.GetValue<long>() ?? 1));
                return await PollAsync(client, id, job, j => bar.Value = j["rowsDone"]?.GetValue<long>() ?? 0, cancellationToken);
            });
        }
        catch (OperationCanceledException)
        {
            await client.PostJsonAsync($"/api/batch-jobs/{id}/cancel", new { }, CancellationToken.None);
            throw;
        }
    }

    private static async Task<JsonNode> PollAsync(FlotillaClient client, string id, JsonNode job, Action<JsonNode> progress, CancellationToken cancellationToken)
    {
        while (CliConsole.Text(job["status"]) is "Queued" or "Running")
        {
            progress(job);
            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
            job = await client.GetAsync($"/api/batch-jobs/{id}", cancellationToken);
        }
        progress(job);
        return job;
    }
}
