using System.CommandLine;
using Flotilla.Cli.Client;
using Flotilla.Cli.Terminal;
using Flotilla.Contracts;
using Spectre.Console;

namespace Flotilla.Cli.Commands;

/// <summary>
/// <c>flotilla score GROUP --dataset NAME | --csv PATH [--target COLUMN] [--server-path] [--out FILE]</c>: a batch job
/// on the server (<c>POST /api/batch-jobs</c>), followed to its end with a progress bar, then its result CSV
/// downloaded. With <c>--csv</c> the file is registered as a dataset first — uploaded, or with <c>--server-path</c>
/// read from the server's data roots, for a file larger than an upload may be — named <c>scoring-&lt;file name&gt;</c>
/// so that it never replaces a dataset a pipeline trained on; without <c>--target</c> it needs no label column.
/// </summary>
internal sealed class ScoreCommand : ClientCommand
{
    private static readonly Argument<string> GroupArgument = new("GROUP") { Description = "The model group whose deployed version scores the rows." };
    private static readonly Option<string> DatasetOption = new("--dataset") { Description = "A registered dataset to score.", HelpName = "NAME" };
    private static readonly Option<FileInfo> CsvOption = new("--csv") { Description = "A local CSV to upload as a dataset and score.", HelpName = "PATH" };
    private static readonly Option<string> TargetOption = new("--target") { Description = "With --csv: its label column, if it has one (the dataset can then be trained on too).", HelpName = "COLUMN" };
    private static readonly Option<bool> ServerPathOption = new("--server-path") { Description = "With --csv: the path is on the server, in one of its data roots (default <data>/imports); nothing is uploaded." };
    private static readonly Option<FileInfo> OutOption = new("--out") { Description = "Where to write the scored CSV.", DefaultValueFactory = _ => new FileInfo("scored.csv"), HelpName = "FILE" };

    public ScoreCommand() : base("score", "Score a whole dataset with a group's deployed model as a batch job and download the result.")
    {
        Arguments.Add(GroupArgument);
        Options.Add(DatasetOption);
        Options.Add(CsvOption);
        Options.Add(TargetOption);
        Options.Add(ServerPathOption);
        Options.Add(OutOption);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CliConsole console, FlotillaClient client, CancellationToken cancellationToken)
    {
        var group = parseResult.GetRequiredValue(GroupArgument);
        var dataset = parseResult.GetValue(DatasetOption);
        var csv = parseResult.GetValue(CsvOption);
        var output = parseResult.GetRequiredValue(OutOption);
        if ((dataset is null) == (csv is null))
            throw new CliInputException("Pass either --dataset NAME (a registered dataset) or --csv PATH (a file to score).");
        if (csv is not null)
        {
            var serverPath = parseResult.GetValue(ServerPathOption);
            if (!serverPath && !csv.Exists)
                throw new CliInputException($"--csv {csv.FullName} does not exist; pass the path of a CSV file with a header row.");
            dataset = DatasetName(csv);
            await DatasetAddCommand.AddAsync(client, dataset, csv, parseResult.GetValue(TargetOption), [], serverPath, cancellationToken);
        }

        var job = await client.CreateBatchJobAsync(new CreateBatchJobRequest(group, null, dataset), cancellationToken);
        var id = job.Id;
        job = await FollowAsync(client, console, job, cancellationToken);
        if (job.Status != BatchJobStatus.Succeeded)
        {
            if (console.Json)
                console.WriteJson(job);
            console.Fail($"Batch job {id} {job.Status}: {job.FailureReason}");
            return ExitCodes.ExecutionFailed;
        }

        var partial = new FileInfo(output.FullName + ".partial");
        await using (var file = partial.Create())
            await client.DownloadBatchResultAsync(id, file, cancellationToken);
        partial.MoveTo(output.FullName, overwrite: true);
        if (console.Json)
            console.WriteJson(job);
        else
            console.Line($"Scored {job.RowsDone} rows with {job.PackageId} → {output.FullName}");
        return ExitCodes.Success;
    }

    private static string DatasetName(FileInfo csv)
    {
        var name = new string([.. Path.GetFileNameWithoutExtension(csv.Name).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-')]);
        return $"scoring-{name}";
    }

    /// <summary>Polls the job until it ends, drawing a progress bar on a terminal; Ctrl+C cancels the job on the server too.</summary>
    private static async Task<BatchJob> FollowAsync(FlotillaClient client, CliConsole console, BatchJob job, CancellationToken cancellationToken)
    {
        var id = job.Id;
        try
        {
            if (!console.Interactive)
                return await PollAsync(client, job, _ => { }, cancellationToken);
            return await console.Ansi.Progress().StartAsync(async context =>
            {
                var bar = context.AddTask($"Scoring ({id[..Math.Min(8, id.Length)]})", maxValue: Math.Max(1, job.RowsTotal));
                return await PollAsync(client, job, j => bar.Value = j.RowsDone, cancellationToken);
            });
        }
        catch (OperationCanceledException)
        {
            await client.CancelBatchJobAsync(id, CancellationToken.None);
            throw;
        }
    }

    private static async Task<BatchJob> PollAsync(FlotillaClient client, BatchJob job, Action<BatchJob> progress, CancellationToken cancellationToken)
    {
        while (!job.IsFinished)
        {
            progress(job);
            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
            job = await client.GetBatchJobAsync(job.Id, cancellationToken);
        }
        progress(job);
        return job;
    }
}
