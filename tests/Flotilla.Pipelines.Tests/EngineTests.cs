using Flotilla.Pipelines.Execution;

namespace Flotilla.Pipelines.Tests;

public sealed class EngineTests(HostFixture fixture) : IClassFixture<HostFixture>
{
    private PipelineHost Host => fixture.Host;

    private async Task<string> DefineAsync(string yaml)
    {
        var name = $"p{Guid.NewGuid():N}"[..20];
        await Host.Pipelines.CreateAsync($"name: {name}\n{yaml}", CancellationToken.None);
        return name;
    }

    private static StepState Step(ExecutionDetail execution, string name) => execution.Steps.Single(s => s.Name == name);

    [Fact]
    public async Task A_process_step_runs_a_real_shell_command_with_inputs_and_outputs()
    {
        var pipeline = await DefineAsync("""
            parameters:
              - { name: Who, type: string, default: world }
            steps:
              - name: hello
                type: Process
                command: [sh, -c, 'echo "hello $FLOTILLA_INPUT_WHO from $1"; echo oops >&2; printf "{\"n\": 42}" > "$FLOTILLA_OUTPUT_DIR/outputs.json"', sh, "${inputs.who}"]
                inputs:
                  who: { parameter: Who }
              - name: check
                type: Condition
                condition: { eq: [{ step: hello, output: n }, 42] }
            """);

        var execution = await Host.RunAsync(pipeline, new { Who = "flotilla" });

        Assert.Equal(ExecutionStatus.Succeeded, execution.Status);
        var hello = Step(execution, "hello");
        Assert.Contains("hello flotilla from flotilla", hello.Log);
        Assert.Contains("[stderr] oops", hello.Log);
        Assert.Equal(42, hello.Outputs!["n"]!.GetValue<int>());
        Assert.True(File.Exists(Path.Combine(Host.StoredPath(hello.Outputs["directory"]!.GetValue<string>()), "outputs.json")));
        Assert.True(Step(execution, "check").Outputs!["result"]!.GetValue<bool>());
        Assert.NotNull(hello.StartedAt);
        Assert.True(hello.EndedAt >= hello.StartedAt);
    }

    [Fact]
    public async Task A_non_zero_exit_fails_the_step_and_the_execution_and_later_steps_do_not_run()
    {
        var pipeline = await DefineAsync("""
            steps:
              - { name: broken, type: Process, command: [sh, -c, "echo 'no such table' >&2; exit 3"] }
              - { name: after, type: Process, command: [sh, -c, "true"], dependsOn: [broken] }
            """);

        var execution = await Host.RunAsync(pipeline);

        Assert.Equal(ExecutionStatus.Failed, execution.Status);
        Assert.Contains("exited with code 3", execution.FailureReason);
        Assert.Contains("broken", execution.FailureReason);
        Assert.Equal(StepStatus.Failed, Step(execution, "broken").Status);
        Assert.Contains("no such table", Step(execution, "broken").Log);
        Assert.Equal(StepStatus.Skipped, Step(execution, "after").Status);
    }

    [Fact]
    public async Task A_failing_step_is_retried_up_to_its_policy()
    {
        // Fails twice, then succeeds: the attempt counter lives in the step's work folder.
        const string flaky = """[sh, -c, 'n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; echo "attempt $n"; [ $n -ge 3 ]']""";
        var pipeline = await DefineAsync($"""
            steps:
              - {"{"} name: enough, type: Process, command: {flaky}, retry: {"{"} maxAttempts: 3, delaySeconds: 0.01 {"}"} {"}"}
              - {"{"} name: short, type: Process, command: {flaky}, retry: {"{"} maxAttempts: 2, delaySeconds: 0.01 {"}"} {"}"}
            """);

        var execution = await Host.RunAsync(pipeline);

        Assert.Equal(StepStatus.Succeeded, Step(execution, "enough").Status);
        Assert.Equal(3, Step(execution, "enough").Attempts);
        Assert.Contains("attempt 1 failed", Step(execution, "enough").Log);
        Assert.Equal(StepStatus.Failed, Step(execution, "short").Status);
        Assert.Equal(2, Step(execution, "short").Attempts);
        Assert.Equal(ExecutionStatus.Failed, execution.Status);
    }

    [Fact]
    public async Task A_cached_step_reuses_outputs_for_the_same_inputs_and_parameters_only()
    {
        var pipeline = await DefineAsync("""
            parameters:
              - { name: Seed, type: int, default: 1 }
            steps:
              - name: slow
                type: Process
                cache: true
                command: [sh, -c, 'printf "{\"random\": \"%s\"}" "$(od -An -N8 -tx8 /dev/urandom | tr -d " ")" > "$FLOTILLA_OUTPUT_DIR/outputs.json"']
                inputs: { seed: { parameter: Seed } }
              - name: uncached
                type: Process
                command: [sh, -c, 'printf "{\"random\": \"%s\"}" "$(od -An -N8 -tx8 /dev/urandom | tr -d " ")" > "$FLOTILLA_OUTPUT_DIR/outputs.json"']
            """);

        var first = await Host.RunAsync(pipeline, new { Seed = 7 });
        var second = await Host.RunAsync(pipeline, new { Seed = 7 });
        var other = await Host.RunAsync(pipeline, new { Seed = 8 });

        Assert.All(new[] { first, second, other }, e => Assert.Equal(ExecutionStatus.Succeeded, e.Status));
        Assert.Null(Step(first, "slow").CachedFrom);
        Assert.Equal(first.Id, Step(second, "slow").CachedFrom);
        Assert.Equal(Step(first, "slow").Outputs!["random"]!.GetValue<string>(), Step(second, "slow").Outputs!["random"]!.GetValue<string>());
        Assert.NotEqual(Step(first, "uncached").Outputs!["random"]!.GetValue<string>(), Step(second, "uncached").Outputs!["random"]!.GetValue<string>());
        Assert.Null(Step(other, "slow").CachedFrom);
        Assert.NotEqual(Step(first, "slow").Outputs!["random"]!.GetValue<string>(), Step(other, "slow").Outputs!["random"]!.GetValue<string>());
    }

    [Fact]
    public async Task Stop_is_prompt_and_cooperative()
    {
        var pipeline = await DefineAsync("""
            steps:
              - { name: sleepy, type: Process, command: [sleep, "60"] }
              - { name: after, type: Process, command: [sh, -c, "true"], dependsOn: [sleepy] }
            """);
        var id = await Host.Executions.StartAsync(pipeline, null, CancellationToken.None);
        await WaitForAsync(id, e => Step(e, "sleepy").Status == StepStatus.Executing);

        var asked = DateTimeOffset.UtcNow;
        var stopping = await Host.Executions.StopAsync(id, CancellationToken.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var stopped = await Host.Executions.WaitAsync(id, timeout.Token);

        Assert.Contains(stopping.Status, new[] { ExecutionStatus.Stopping, ExecutionStatus.Stopped });
        Assert.Equal(ExecutionStatus.Stopped, stopped.Status);
        Assert.Equal(StepStatus.Stopped, Step(stopped, "sleepy").Status);
        Assert.Equal(StepStatus.Skipped, Step(stopped, "after").Status);
        Assert.True(stopped.EndedAt - asked < TimeSpan.FromSeconds(10), $"stopping took {stopped.EndedAt - asked}");
        await Assert.ThrowsAsync<ConflictException>(() => Host.Executions.StopAsync(id, CancellationToken.None));
    }

    [Fact]
    public async Task A_stop_written_to_the_store_by_another_server_is_seen_within_seconds()
    {
        var pipeline = await DefineAsync("""
            steps:
              - { name: sleepy, type: Process, command: [sleep, "60"] }
            """);
        var id = await Host.Executions.StartAsync(pipeline, null, CancellationToken.None);
        await WaitForAsync(id, e => Step(e, "sleepy").Status == StepStatus.Executing);

        // What POST /stop on another server sharing the database does: only the store changes here.
        var store = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Storage.ExecutionStore>(Host.Services);
        Assert.True(await store.RequestStopAsync(id, CancellationToken.None));
        var stopped = await WaitForAsync(id, e => e.IsFinished, TimeSpan.FromSeconds(15));

        Assert.Equal(ExecutionStatus.Stopped, stopped.Status);
        Assert.Equal(StepStatus.Stopped, Step(stopped, "sleepy").Status);
    }

    [Fact]
    public async Task A_condition_runs_one_branch_and_a_fail_step_fails_the_execution_with_its_message()
    {
        var pipeline = await DefineAsync("""
            parameters:
              - { name: Score, type: float, default: 0.5 }
              - { name: Threshold, type: float, default: 0.7 }
            steps:
              - name: gate
                type: Condition
                condition:
                  and:
                    - ge: [{ parameter: Score }, { parameter: Threshold }]
                    - not: { eq: [{ parameter: Score }, 0.99] }
                ifTrue: [register]
                ifFalse: [refuse]
              - { name: register, type: Process, command: [sh, -c, "true"] }
              - { name: afterRegister, type: Process, command: [sh, -c, "true"], dependsOn: [register] }
              - name: refuse
                type: Fail
                inputs: { value: { parameter: Score } }
                message: "score ${inputs.value} is below ${Threshold}"
            """);

        var low = await Host.RunAsync(pipeline);
        var high = await Host.RunAsync(pipeline, new { Score = 0.9 });

        Assert.Equal(ExecutionStatus.Failed, low.Status);
        Assert.Equal("score 0.5 is below 0.7", low.FailureReason);
        Assert.Equal(StepStatus.Skipped, Step(low, "register").Status);
        Assert.Equal(StepStatus.Skipped, Step(low, "afterRegister").Status);
        Assert.Equal(ExecutionStatus.Succeeded, high.Status);
        Assert.Equal(StepStatus.Succeeded, Step(high, "afterRegister").Status);
        Assert.Equal(StepStatus.Skipped, Step(high, "refuse").Status);
    }

    [Fact]
    public async Task Bad_parameters_are_refused_before_anything_is_recorded()
    {
        var pipeline = await DefineAsync("""
            parameters:
              - { name: N, type: int, min: 1, max: 5 }
            steps:
              - { name: s, type: Process, command: [sh, -c, "true"], inputs: { n: { parameter: N } } }
            """);
        var before = await Host.Executions.ListAsync(pipeline, null, 10, CancellationToken.None);

        var error = await Assert.ThrowsAsync<Definitions.ParameterException>(() =>
            Host.Executions.StartAsync(pipeline, PipelineHost.Parameters(new { N = 9, M = 1 }), CancellationToken.None));

        Assert.Contains(error.Errors, e => e.Where == "N" && e.Message.Contains("outside [1, 5]"));
        Assert.Contains(error.Errors, e => e.Where == "M" && e.Message.Contains("Unknown parameter 'M'"));
        Assert.Empty(before);
        Assert.Empty(await Host.Executions.ListAsync(pipeline, null, 10, CancellationToken.None));
    }

    internal static async Task<ExecutionDetail> WaitForAsync(PipelineHost host, string id, Func<ExecutionDetail, bool> condition, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(60));
        using var subscription = await host.Executions.SubscribeAsync(id, CancellationToken.None);
        while (true)
        {
            var current = await host.Executions.GetAsync(id, CancellationToken.None);
            if (condition(current))
            {
                return current;
            }
            Assert.True(DateTime.UtcNow < deadline, $"Execution {id} did not reach the expected state; it is {current.Status}.");
            using var tick = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
            try
            {
                await subscription.Reader.WaitToReadAsync(tick.Token);
                while (subscription.Reader.TryRead(out _))
                {
                }
            }
            catch (OperationCanceledException)
            {
                // Re-read on a short period as well as on every event.
            }
        }
    }

    private Task<ExecutionDetail> WaitForAsync(string id, Func<ExecutionDetail, bool> condition, TimeSpan? within = null) =>
        WaitForAsync(Host, id, condition, within);
}
