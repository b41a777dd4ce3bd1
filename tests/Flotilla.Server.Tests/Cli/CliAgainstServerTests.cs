using System.Text.Json.Nodes;
using Flotilla.Cli;
using Flotilla.Cli.Demo;

namespace Flotilla.Server.Tests.Cli;

public sealed class CliAgainstServerTests(RunningServer server) : IClassFixture<RunningServer>
{
    [Fact]
    public async Task Dataset_add_registers_a_csv_and_dataset_list_shows_it()
    {
        var csv = WriteExample("cli-list");

        var added = await CliRunner.RunAsync(server, "dataset", "add", "cli-list", "--csv", csv, "--target", "churned", "--exclude", "customer_id");
        var listed = await CliRunner.RunAsync(server, "dataset", "list");
        var json = await CliRunner.RunAsync(server, "dataset", "list", "--json");

        Assert.True(added.ExitCode == ExitCodes.Success, added.ToString());
        Assert.Contains("Registered dataset cli-list", added.Output);
        Assert.Equal(ExitCodes.Success, listed.ExitCode);
        Assert.Contains("cli-list", listed.Output);
        var names = JsonNode.Parse(json.Output)!.AsArray().Select(d => (string)d!["name"]!);
        Assert.Contains("cli-list", names);
    }

    [Fact]
    public async Task Showing_an_unknown_package_prints_the_servers_explanation_and_exits_not_found()
    {
        var result = await CliRunner.RunAsync(server, "registry", "show", "no-such-group:3");

        Assert.Equal(ExitCodes.NotFound, result.ExitCode);
        Assert.Contains("no-such-group", result.Error);
        Assert.DoesNotContain("   at ", result.Error);
    }

    [Fact]
    public async Task Invoking_a_group_that_is_not_deployed_says_so()
    {
        var rows = Path.Combine(server.DataDirectory, "rows.csv");
        await File.WriteAllTextAsync(rows, ExampleDatasets.Churn(7).SampleCsv);

        var result = await CliRunner.RunAsync(server, "invoke", "multimodel-nothing", "--csv", rows);

        Assert.Equal(ExitCodes.NotFound, result.ExitCode);
        Assert.Contains("No model named 'multimodel-nothing'", result.Error);
    }

    [Fact]
    public async Task Plan_shows_a_new_dataset_apply_creates_it_and_the_next_plan_is_empty()
    {
        var csv = WriteExample("cli-stack");
        var stack = Path.Combine(Path.GetDirectoryName(csv)!, "stack.yaml");
        await File.WriteAllTextAsync(stack, $"""
            datasets:
              - name: cli-stack
                csv: {Path.GetFileName(csv)}
                target: churned
                exclude: [customer_id]
            """);

        var plan = await CliRunner.RunAsync(server, "plan", "-f", stack);
        var apply = await CliRunner.RunAsync(server, "apply", "-f", stack);
        var again = await CliRunner.RunAsync(server, "plan", "-f", stack);

        Assert.True(plan.ExitCode == ExitCodes.Success, plan.ToString());
        Assert.Contains("+ dataset cli-stack", plan.Output);
        Assert.True(apply.ExitCode == ExitCodes.Success, apply.ToString());
        Assert.Contains("Applied.", apply.Output);
        Assert.Contains("No changes", again.Output);
    }

    [Fact]
    public async Task A_stack_file_with_a_yaml_error_names_the_line()
    {
        var stack = Path.Combine(server.DataDirectory, "broken.yaml");
        await File.WriteAllTextAsync(stack, "datasets:\n  - name: [unclosed\n");

        var result = await CliRunner.RunAsync(server, "plan", "-f", stack);

        Assert.Equal(ExitCodes.InvalidInput, result.ExitCode);
        Assert.Contains("broken.yaml line", result.Error);
    }

    [Fact]
    public async Task Executions_counts_a_grid_search_to_the_trials_the_tuner_planned_not_to_MaxTuningJobs()
    {
        var csv = WriteExample("cli-grid");
        await CliRunner.RunAsync(server, "dataset", "add", "cli-grid", "--csv", csv, "--target", "churned", "--exclude", "customer_id");
        var run = await CliRunner.RunAsync(server, "run", "-p", "DatasetName=cli-grid", "-p", "TuningStrategy=Grid", "-p", "TuningPruning=None",
            "-p", "Algorithms=NaiveBayes", "-p", "MaxTuningJobs=60", "-p", "CrossValidationFolds=2", "--wait");
        var id = JsonNode.Parse((await CliRunner.RunAsync(server, "executions", "--json")).Output)!.AsArray()
            .Select(e => e!.AsObject()).First(e => (string?)e["parameters"]?["DatasetName"] == "cli-grid")["id"]!.GetValue<string>();
        var trials = JsonNode.Parse(await server.Client.GetStringAsync($"/api/executions/{id}/trials"))!.AsArray().Count;

        var shown = await CliRunner.RunAsync(server, "executions", id);

        Assert.True(run.ExitCode == ExitCodes.Success, run.ToString());
        Assert.InRange(trials, 1, 59);
        Assert.Contains($"Tuning: {trials}/{trials} trials", shown.Output);
    }

    private string WriteExample(string name)
    {
        var folder = Directory.CreateDirectory(Path.Combine(server.DataDirectory, "inputs", name)).FullName;
        var path = Path.Combine(folder, name + ".csv");
        File.WriteAllText(path, ExampleDatasets.Churn(11).Csv);
        return path;
    }
}
