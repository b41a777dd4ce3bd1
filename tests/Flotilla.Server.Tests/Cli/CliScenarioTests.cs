using System.Text.Json.Nodes;
using Flotilla.Cli;
using Flotilla.Cli.Demo;
using Flotilla.Testing;

namespace Flotilla.Server.Tests.Cli;

public sealed class CliScenarioTests(RunningServer server) : IClassFixture<RunningServer>
{
    [Fact]
    public async Task The_cli_runs_a_pipeline_approves_the_version_and_scores_rows_with_it()
    {
        var dataset = ExampleDatasets.Credit(3);
        var folder = Directory.CreateDirectory(Path.Combine(server.DataDirectory, "scenario")).FullName;
        var csv = Path.Combine(folder, "credit.csv");
        var rows = Path.Combine(folder, "rows.csv");
        await File.WriteAllTextAsync(csv, dataset.Csv);
        await File.WriteAllTextAsync(rows, dataset.SampleCsv);

        var add = await CliRunner.RunAsync(server, "dataset", "add", "credit", "--csv", csv, "--target", "defaulted", "--exclude", "applicant_id");
        Assert.True(add.ExitCode == ExitCodes.Success, add.ToString());

        var run = await CliRunner.RunAsync(server, "run", "-p", "DatasetName=credit", "-p", "MaxTuningJobs=4", "-p", "CrossValidationFolds=2", "--wait");
        Assert.True(run.ExitCode == ExitCodes.Success, run.ToString());
        Assert.Matches(@"trials \d+/4", run.Output);
        Assert.Contains("registered multimodel-credit v1", run.Output);

        var executions = await CliRunner.RunAsync(server, "executions", "--json");
        var id = (string)JsonNode.Parse(executions.Output)!.AsArray().Single()!["id"]!;
        var shown = await CliRunner.RunAsync(server, "executions", id);
        Assert.Contains("Succeeded", shown.Output);
        Assert.Contains("Tuning: 4/4 trials", shown.Output);

        var listed = await CliRunner.RunAsync(server, "registry", "list", "multimodel-credit");
        Assert.Contains("PendingManualApproval", listed.Output);

        var approve = await CliRunner.RunAsync(server, "approve", "multimodel-credit", "--comment", "good enough");
        Assert.True(approve.ExitCode == ExitCodes.Success, approve.ToString());
        Assert.Contains("multimodel-credit v1 (package multimodel-credit-v1) is now Approved.", approve.Output);

        // The deployer reacts to the approval event asynchronously: poll with a deadline.
        await Eventually.TrueAsync(
            async () => (await CliRunner.RunAsync(server, "endpoint")).Output.Contains("multimodel-credit-v1", StringComparison.Ordinal),
            "flotilla endpoint shows multimodel-credit-v1", every: TimeSpan.FromMilliseconds(200));

        var invoke = await CliRunner.RunAsync(server, "invoke", "multimodel-credit", "--csv", rows, "--json");
        Assert.True(invoke.ExitCode == ExitCodes.Success, invoke.ToString());
        var predictions = JsonNode.Parse(invoke.Output)!["predictions"]!.AsArray();
        Assert.Equal(6, predictions.Count);
        Assert.All(predictions, p => Assert.Contains((string)p!["label"]!, new[] { "0", "1" }));
    }
}
