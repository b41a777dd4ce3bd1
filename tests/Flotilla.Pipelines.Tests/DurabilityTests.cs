using Flotilla.Pipelines.Execution;

namespace Flotilla.Pipelines.Tests;

public sealed class DurabilityTests
{
    [Fact]
    public async Task An_execution_left_running_by_a_shutdown_resumes_on_the_next_start_without_rerunning_finished_steps()
    {
        var directory = Directory.CreateTempSubdirectory("flotilla-resume-").FullName;
        var marker = Path.Combine(directory, "first-ran");
        var first = await PipelineHost.StartAsync(dataDirectory: directory);
        await first.Pipelines.CreateAsync($$"""
            name: resumable
            steps:
              - { name: first, type: Process, command: [sh, -c, "echo run >> '{{marker}}'"] }
              - { name: second, type: Process, command: [sh, -c, "sleep 2"], dependsOn: [first] }
            """, CancellationToken.None);
        var id = await first.Executions.StartAsync("resumable", null, CancellationToken.None);
        await EngineTests.WaitForAsync(first, id, e => e.Steps[1].Status == StepStatus.Executing);
        await first.StopAsync();

        await using var second = await PipelineHost.StartAsync(dataDirectory: directory);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var resumed = await second.Executions.WaitAsync(id, timeout.Token);

        Assert.Equal(ExecutionStatus.Succeeded, resumed.Status);
        Assert.Single(await File.ReadAllLinesAsync(marker));
        Assert.Equal(1, resumed.Steps[0].Attempts);
        Assert.Contains("resumed after its server stopped", resumed.Steps[1].Log);
    }

    [Fact]
    public async Task A_data_folder_moved_between_two_starts_resumes_its_execution_and_runs_new_ones()
    {
        var before = Directory.CreateTempSubdirectory("flotilla-move-from-").FullName;
        var after = Path.Combine(Directory.CreateTempSubdirectory("flotilla-move-to-").FullName, "data");
        var first = await PipelineHost.StartAsync(dataDirectory: before);
        await first.Datasets.RegisterAsync("bc", SharedData.Dataset("breast-cancer.csv"), "CLASS", [], CancellationToken.None);
        await first.Pipelines.CreateAsync("""
            name: movable
            parameters:
              - { name: DatasetName, type: string }
            steps:
              - { name: Preprocess, type: Preprocess, inputs: { dataset: { parameter: DatasetName } } }
              - { name: pause, type: Process, command: [sh, -c, "sleep 2"], dependsOn: [Preprocess] }
              - name: Tune
                type: Tune
                dependsOn: [pause]
                inputs:
                  train: { step: Preprocess, output: train }
                  target: { step: Preprocess, output: target }
                  maxTrials: 2
                  algorithms: [NaiveBayes]
              - name: Refit
                type: Train
                inputs:
                  train: { step: Preprocess, output: train }
                  target: { step: Preprocess, output: target }
                  algorithm: { step: Tune, output: bestAlgorithm }
                  parameters: { step: Tune, output: bestParameters }
              - name: Evaluate
                type: Evaluate
                inputs:
                  model: { step: Refit, output: model }
                  test: { step: Preprocess, output: test }
                  target: { step: Preprocess, output: target }
            """, CancellationToken.None);
        var parameters = PipelineHost.Parameters(new { DatasetName = "bc" });
        var id = await first.Executions.StartAsync("movable", parameters, CancellationToken.None);
        await EngineTests.WaitForAsync(first, id, e => e.Steps[1].Status == StepStatus.Executing);
        await first.StopAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Move(before, after);

        await using var second = await PipelineHost.StartAsync(dataDirectory: after);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var resumed = await second.Executions.WaitAsync(id, timeout.Token);
        var rerun = await second.RunAsync("movable", new { DatasetName = "bc" });

        Assert.True(resumed.Status == ExecutionStatus.Succeeded, resumed.FailureReason);
        Assert.Equal(1, resumed.Steps[0].Attempts);
        Assert.Equal($"executions/{id}/Preprocess/train.csv", resumed.Steps[0].Outputs!["train"]!.GetValue<string>());
        Assert.True(rerun.Status == ExecutionStatus.Succeeded, rerun.FailureReason);
        Assert.True(File.Exists(Path.Combine(after, rerun.Steps[^1].Outputs!["report"]!.GetValue<string>())));
    }

    [Fact]
    public async Task Servers_sharing_postgresql_never_run_an_execution_twice_and_one_takes_over_what_another_gave_up()
    {
        var database = await PipelineHost.NewPostgresDatabaseAsync();
        var marker = Path.Combine(Directory.CreateTempSubdirectory("flotilla-lease-").FullName, "first-ran");
        var a = await PipelineHost.StartAsync(postgresDatabase: database);
        await a.Pipelines.CreateAsync($$"""
            name: shared
            steps:
              - { name: first, type: Process, command: [sh, -c, "echo run >> '{{marker}}'"] }
              - { name: second, type: Process, command: [sh, -c, "sleep 5"], dependsOn: [first] }
            """, CancellationToken.None);
        var id = await a.Executions.StartAsync("shared", null, CancellationToken.None);
        await EngineTests.WaitForAsync(a, id, e => e.Steps[1].Status == StepStatus.Executing);
        // B starts only once A holds the execution: started earlier, B's worker could claim it first.
        await using var b = await PipelineHost.StartAsync(postgresDatabase: database);

        var storeB = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Storage.ExecutionStore>(b.Services);
        Assert.False(await storeB.ClaimAsync(id, ExecutionRunner.Lease, CancellationToken.None));
        await a.StopAsync();
        await a.DisposeAsync();
        var finished = await EngineTests.WaitForAsync(b, id, e => e.IsFinished, TimeSpan.FromSeconds(60));

        Assert.Equal(ExecutionStatus.Succeeded, finished.Status);
        Assert.Single(await File.ReadAllLinesAsync(marker));
        Assert.Contains("resumed after its server stopped", finished.Steps[1].Log);
    }

    [Theory]
    [InlineData(PipelineHost.Backend.Sqlite)]
    [InlineData(PipelineHost.Backend.Postgres)]
    public async Task Fifty_concurrent_executions_all_finish_with_every_step_recorded(PipelineHost.Backend backend)
    {
        await using var host = await PipelineHost.StartAsync(backend);
        await host.Pipelines.CreateAsync("""
            name: small
            parameters:
              - { name: N, type: int }
            steps:
              - name: gate
                type: Condition
                condition: { lt: [{ parameter: N }, 40] }
                ifTrue: [echo]
                ifFalse: [refuse]
              - { name: echo, type: Process, command: [sh, -c, 'echo "n=$FLOTILLA_PARAM_N"'] }
              - { name: after, type: Condition, condition: { eq: [{ step: echo, output: exitCode }, 0] } }
              - { name: refuse, type: Fail, message: "N=${N} is too large" }
            """, CancellationToken.None);

        var ids = await Task.WhenAll(Enumerable.Range(0, 50).Select(n =>
            host.Executions.StartAsync("small", PipelineHost.Parameters(new { N = n }), CancellationToken.None)));
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var executions = await Task.WhenAll(ids.Select(id => host.Executions.WaitAsync(id, timeout.Token)));

        for (var n = 0; n < 50; n++)
        {
            var e = executions[n];
            Assert.Equal(["gate", "echo", "after", "refuse"], e.Steps.Select(s => s.Name));
            if (n < 40)
            {
                Assert.True(e.Status == ExecutionStatus.Succeeded,
                    $"execution {n} ended {e.Status}: {e.FailureReason}; steps: {string.Join("; ", e.Steps.Select(s => $"{s.Name} {s.Status} {s.FailureReason}"))}");
                Assert.Equal([StepStatus.Succeeded, StepStatus.Succeeded, StepStatus.Succeeded, StepStatus.Skipped], e.Steps.Select(s => s.Status));
                Assert.Contains($"n={n}\n", e.Steps[1].Log);
            }
            else
            {
                Assert.Equal(ExecutionStatus.Failed, e.Status);
                Assert.Equal($"N={n} is too large", e.FailureReason);
                Assert.Equal([StepStatus.Succeeded, StepStatus.Skipped, StepStatus.Skipped, StepStatus.Failed], e.Steps.Select(s => s.Status));
            }
            Assert.All(e.Steps.Where(s => s.Status != StepStatus.Skipped), s => Assert.NotNull(s.EndedAt));
        }
        Assert.Equal(50, (await host.Executions.ListAsync("small", null, 100, CancellationToken.None)).Count);
    }
}
