using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Flotilla.Cli;
using Flotilla.Cli.Demo;

namespace Flotilla.Server.Tests.Cli;

public sealed class StackTests(RunningServer server) : IClassFixture<RunningServer>
{
    [Fact]
    public async Task Apply_trains_and_deploys_what_the_stack_declares_and_destroy_takes_it_away()
    {
        var folder = Directory.CreateDirectory(Path.Combine(server.DataDirectory, "stack")).FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, "credit.csv"), ExampleDatasets.Credit(21).Csv);
        var stack = Path.Combine(folder, "stack.yaml");
        await File.WriteAllTextAsync(stack, """
            datasets:
              - name: loans
                csv: credit.csv
                target: defaulted
                exclude: [applicant_id]
            runs:
              - parameters: { DatasetName: loans, MaxTuningJobs: 3, CrossValidationFolds: 2, Algorithms: "LogisticRegression,NaiveBayes" }
            endpoint:
              deploy: [multimodel-loans]
            """);

        var plan = await CliRunner.RunAsync(server, "plan", "-f", stack);
        Assert.True(plan.ExitCode == ExitCodes.Success, plan.ToString());
        Assert.Contains("+ dataset loans", plan.Output);
        Assert.Contains("+ run multimodel-loans", plan.Output);
        Assert.Contains("+ deployment multimodel-loans", plan.Output);

        var apply = await CliRunner.RunAsync(server, "apply", "-f", stack);
        Assert.True(apply.ExitCode == ExitCodes.Success, apply.ToString());
        Assert.Contains("registered multimodel-loans v1", apply.Output);
        Assert.Equal("multimodel-loans-v1", await ServedPackageAsync("multimodel-loans", present: true));

        var again = await CliRunner.RunAsync(server, "plan", "-f", stack);
        Assert.Contains("No changes", again.Output);

        var destroy = await CliRunner.RunAsync(server, "destroy", "-f", stack);
        Assert.True(destroy.ExitCode == ExitCodes.Success, destroy.ToString());
        Assert.Contains("- deployment multimodel-loans: reject package multimodel-loans-v1", destroy.Output);
        Assert.Contains("- dataset loans: delete", destroy.Output);
        Assert.Null(await ServedPackageAsync("multimodel-loans", present: false));
        var datasets = await server.Client.GetFromJsonAsync<JsonArray>("/api/datasets");
        Assert.DoesNotContain(datasets!, d => (string)d!["name"]! == "loans");
    }

    [Fact]
    public async Task Stopping_an_unknown_execution_prints_the_servers_reason()
    {
        var result = await CliRunner.RunAsync(server, "stop", "no-such-execution");

        Assert.Equal(ExitCodes.NotFound, result.ExitCode);
        Assert.Contains("no-such-execution", result.Error);
    }

    /// <summary>The package serving a group once it is (or is no longer) deployed; the deployer reacts asynchronously.</summary>
    private async Task<string?> ServedPackageAsync(string group, bool present)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var endpoint = await server.Client.GetFromJsonAsync<JsonObject>("/api/endpoint");
            var served = endpoint!["aliases"]!.AsArray().FirstOrDefault(a => (string)a!["group"]! == group)?["packageId"]?.GetValue<string>();
            if ((served is not null) == present || DateTime.UtcNow > deadline)
            {
                return served;
            }
            await Task.Delay(200);
        }
    }
}
