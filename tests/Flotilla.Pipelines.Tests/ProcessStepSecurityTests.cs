using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Execution;

namespace Flotilla.Pipelines.Tests;

public sealed class ProcessStepSecurityTests
{
    private const string Secret = "FLOTILLA_TEST_SERVER_SECRET_KEY";

    private static string Pipeline(string name, string command) => $$"""
        name: {{name}}
        steps:
          - { name: run, type: Process, command: [sh, -c, '{{command}}'] }
        """;

    [Fact]
    public async Task A_pipeline_with_a_Process_step_is_refused_while_they_are_switched_off_and_nothing_is_stored()
    {
        await using var host = await PipelineHost.StartAsync(configure: o => o.AllowProcessSteps = false);
        var marker = Path.Combine(host.DataDirectory, "pwned");

        var error = await Assert.ThrowsAsync<DefinitionException>(() =>
            host.Pipelines.CreateAsync(Pipeline("drive-by", $"id > {marker}"), CancellationToken.None));

        Assert.Equal("steps[run].type", Assert.Single(error.Errors).Where);
        Assert.Contains(PipelineOptions.AllowProcessStepsSetting, error.Message);
        Assert.Null(await host.Pipelines.FindAsync("drive-by", CancellationToken.None));
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public async Task A_Process_pipeline_stored_while_allowed_is_refused_at_start_once_they_are_switched_off()
    {
        var data = Directory.CreateTempSubdirectory("flotilla-process-gate-").FullName;
        var marker = Path.Combine(data, "ran");
        // Stopped, not disposed: disposing would delete the data folder the second host opens.
        var allowed = await PipelineHost.StartAsync(dataDirectory: data);
        await allowed.Pipelines.CreateAsync(Pipeline("stored", $"touch {marker}"), CancellationToken.None);
        await allowed.StopAsync();

        await using var off = await PipelineHost.StartAsync(dataDirectory: data, configure: o => o.AllowProcessSteps = false);
        var error = await Assert.ThrowsAsync<DefinitionException>(() => off.Executions.StartAsync("stored", null, CancellationToken.None));

        Assert.Contains(PipelineOptions.AllowProcessStepsSetting, error.Message);
        Assert.Empty(await off.Executions.ListAsync("stored", null, 10, CancellationToken.None));
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public async Task A_Process_step_cannot_read_the_servers_environment_secrets()
    {
        Environment.SetEnvironmentVariable(Secret, "s3-secret-value");
        try
        {
            await using var host = await PipelineHost.StartAsync();
            await host.Pipelines.CreateAsync(Pipeline("env-dump", "env"), CancellationToken.None);

            var execution = await host.RunAsync("env-dump");

            Assert.Equal(ExecutionStatus.Succeeded, execution.Status);
            var log = execution.Steps.Single().Log!;
            Assert.Contains("FLOTILLA_EXECUTION_ID=", log);
            Assert.Contains("PATH=", log);
            Assert.DoesNotContain("s3-secret-value", log);
            Assert.DoesNotContain("HOME=", log);
        }
        finally
        {
            Environment.SetEnvironmentVariable(Secret, null);
        }
    }

    [Fact]
    public async Task With_a_ProcessUser_the_command_runs_as_that_account_and_cannot_read_the_servers_files()
    {
        // Switching users needs the right to; the build machines run the suite as root, where it is exercised.
        if (Environment.UserName != "root")
        {
            return;
        }
        await using var host = await PipelineHost.StartAsync(configure: o => o.ProcessUser = "nobody");
        var database = Path.Combine(host.DataDirectory, "flotilla.db");
        await host.Pipelines.CreateAsync(Pipeline("as-nobody",
            $"echo uid=$(id -u); cat /proc/$PPID/environ > /dev/null 2>&1 && echo environ-read; head -c 16 {database} > /dev/null 2>&1 && echo db-read; pwd; echo ok > \"$FLOTILLA_OUTPUT_DIR/result.txt\""), CancellationToken.None);

        var execution = await host.RunAsync("as-nobody");

        Assert.Equal(ExecutionStatus.Succeeded, execution.Status);
        var step = execution.Steps.Single();
        Assert.Contains("uid=65534", step.Log);
        Assert.DoesNotContain("environ-read", step.Log);
        Assert.DoesNotContain("db-read", step.Log);
        Assert.DoesNotContain(host.DataDirectory, step.Log);
        var output = host.StoredPath(step.Outputs!["directory"]!.GetValue<string>());
        Assert.StartsWith(host.DataDirectory, output);
        Assert.Equal("ok\n", await File.ReadAllTextAsync(Path.Combine(output, "result.txt")));
    }

    [Fact]
    public async Task A_ProcessUser_that_is_not_an_account_stops_the_start()
    {
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            PipelineHost.StartAsync(configure: o => o.ProcessUser = "no-such-account-for-flotilla"));

        Assert.Contains("Flotilla:Pipelines:ProcessUser", error.Message);
    }

    [Fact]
    public async Task A_link_a_ProcessUser_command_leaves_in_its_output_is_not_followed_when_the_output_is_kept()
    {
        if (Environment.UserName != "root")
        {
            return;
        }
        await using var host = await PipelineHost.StartAsync(configure: o => o.ProcessUser = "nobody");
        await host.Pipelines.CreateAsync(Pipeline("smuggle", "ln -s /etc/shadow \"$FLOTILLA_OUTPUT_DIR/shadow\"; echo x > \"$FLOTILLA_OUTPUT_DIR/plain\""), CancellationToken.None);

        var execution = await host.RunAsync("smuggle");

        Assert.Equal(ExecutionStatus.Succeeded, execution.Status);
        var output = host.StoredPath(execution.Steps.Single().Outputs!["directory"]!.GetValue<string>());
        Assert.True(File.Exists(Path.Combine(output, "plain")));
        Assert.False(File.Exists(Path.Combine(output, "shadow")));
    }
}
