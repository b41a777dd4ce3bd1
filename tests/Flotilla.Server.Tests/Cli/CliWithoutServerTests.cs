using Flotilla.Cli;

namespace Flotilla.Server.Tests.Cli;

public sealed class CliWithoutServerTests
{
    [Fact]
    public async Task Help_lists_every_verb_of_the_design()
    {
        var result = await CliRunner.RunAsync("--help");

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        foreach (var verb in new[] { "server", "demo", "dataset", "run", "executions", "stop", "registry", "approve", "reject", "invoke", "endpoint", "plan", "apply", "destroy" })
        {
            Assert.Matches($@"(?m)^\s+{verb}\b", result.Output);
        }
        Assert.Contains("--server", result.Output);
        Assert.Contains("--json", result.Output);
    }

    [Fact]
    public async Task A_command_with_no_server_listening_fails_in_one_sentence_with_the_unreachable_exit_code()
    {
        var result = await CliRunner.RunAsync("dataset", "list", "--server", "http://127.0.0.1:9");

        Assert.Equal(ExitCodes.ServerUnreachable, result.ExitCode);
        var line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: Cannot reach the Flotilla server at http://127.0.0.1:9/", line);
        Assert.Contains("flotilla server", line);
        Assert.DoesNotContain("   at ", result.Error);
    }

    [Fact]
    public async Task A_parameter_without_an_equals_sign_is_rejected_with_an_example()
    {
        var result = await CliRunner.RunAsync("run", "-p", "MaxTuningJobs", "--server", "http://127.0.0.1:9");

        Assert.Equal(ExitCodes.InvalidInput, result.ExitCode);
        Assert.Contains("'MaxTuningJobs' is not Name=Value", result.Error);
    }

    [Fact]
    public async Task Adding_a_dataset_from_a_missing_file_names_the_file()
    {
        var missing = Path.Combine(Path.GetTempPath(), "flotilla-no-such-file.csv");

        var result = await CliRunner.RunAsync("dataset", "add", "x", "--csv", missing, "--target", "y", "--server", "http://127.0.0.1:9");

        Assert.Equal(ExitCodes.InvalidInput, result.ExitCode);
        Assert.Contains(missing, result.Error);
    }

    [Fact]
    public async Task A_server_address_that_is_not_a_url_is_a_usage_error()
    {
        var result = await CliRunner.RunAsync("endpoint", "--server", "not a url");

        Assert.NotEqual(ExitCodes.Success, result.ExitCode);
        Assert.Contains("--server 'not a url' is not an http(s) URL", result.Error);
    }
}
