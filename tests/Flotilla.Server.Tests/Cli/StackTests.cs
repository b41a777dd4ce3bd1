using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Flotilla.Cli;
using Flotilla.Cli.Demo;
using Flotilla.Registry;
using Flotilla.Server.Tests.Endpoint;
using Flotilla.Testing;

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
    public async Task A_stack_sets_a_groups_capture_share_and_destroy_returns_it_to_the_default()
    {
        const string group = "multimodel-stack-capture";
        await DeployedModelServer.RegisterAsync(server.Services, group, TinyModels.Artifact(1), ApprovalStatus.PendingManualApproval);
        var stack = await WriteStackAsync("capture.yaml", $$"""
            monitoring:
              capture: { {{group}}: 25 }
            """);

        var plan = await CliRunner.RunAsync(server, "plan", "-f", stack);
        Assert.True(plan.ExitCode == ExitCodes.Success, plan.ToString());
        Assert.Contains($"+ capture {group}: 25 % of calls (now 0 %, the server's default)", plan.Output);

        var apply = await CliRunner.RunAsync(server, "apply", "-f", stack);
        Assert.True(apply.ExitCode == ExitCodes.Success, apply.ToString());
        var capture = await server.Client.GetFromJsonAsync<JsonObject>($"/api/endpoint/groups/{group}/capture");
        Assert.Equal(25, capture!["percent"]!.GetValue<double>());
        Assert.True(capture["ownSetting"]!.GetValue<bool>());
        Assert.Contains("No changes", (await CliRunner.RunAsync(server, "plan", "-f", stack)).Output);

        await File.WriteAllTextAsync(stack, $$"""
            monitoring:
              capture: { {{group}}: 100, multimodel-not-yet: 10 }
            """);
        var changed = await CliRunner.RunAsync(server, "plan", "-f", stack);
        Assert.Contains($"~ capture {group}: 100 % of calls (now 25 %)", changed.Output);
        Assert.Contains("+ capture multimodel-not-yet: 10 % of calls (no version registered yet)", changed.Output);

        var destroy = await CliRunner.RunAsync(server, "destroy", "-f", stack);
        Assert.True(destroy.ExitCode == ExitCodes.Success, destroy.ToString());
        Assert.Contains($"- capture {group}: 25 % of calls, back to the server's default", destroy.Output);
        capture = await server.Client.GetFromJsonAsync<JsonObject>($"/api/endpoint/groups/{group}/capture");
        Assert.False(capture!["ownSetting"]!.GetValue<bool>());
        Assert.Equal(0, capture["percent"]!.GetValue<double>());
    }

    [Theory]
    [InlineData("monitoring:\n  capture:\n    multimodel-a: 10\n    multimodel-b: 150\n", "line 4: monitoring.capture.multimodel-b: 150 is not a share of calls")]
    [InlineData("monitoring:\n  capture:\n    multimodel-a:\n", "line 3: monitoring.capture.multimodel-a: no value is not a share of calls")]
    [InlineData("datasets: []\nmonitoring:\n  capture:\n    multimodel-a: ten percent\n", "line 4, column 19, monitoring.capture.multimodel-a:")]
    [InlineData("monitoring:\n  captur: { multimodel-a: 10 }\n", "line 2, column 3, monitoring.captur:")]
    public async Task A_wrong_capture_entry_is_refused_naming_its_line_and_key_and_nothing_is_changed(string yaml, string expected)
    {
        var stack = await WriteStackAsync($"wrong-{Math.Abs(yaml.GetHashCode()):x}.yaml", yaml);

        var plan = await CliRunner.RunAsync(server, "apply", "-f", stack);

        Assert.Equal(ExitCodes.InvalidInput, plan.ExitCode);
        Assert.Contains(expected, plan.Error);
        Assert.Empty(plan.Output);
    }

    private async Task<string> WriteStackAsync(string name, string yaml)
    {
        var path = Path.Combine(Directory.CreateDirectory(Path.Combine(server.DataDirectory, "stacks")).FullName, name);
        await File.WriteAllTextAsync(path, yaml);
        return path;
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
