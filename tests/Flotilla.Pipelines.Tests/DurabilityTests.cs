using Flotilla.Pipelines.Execution;
using Flotilla.Testing;

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
        Assert.Matches("^files/[0-9a-f]{64}/train.csv$", resumed.Steps[0].Outputs!["train"]!.GetValue<string>());
        Assert.True(rerun.Status == ExecutionStatus.Succeeded, rerun.FailureReason);
        Assert.True(File.Exists(Path.Combine(after, "artifacts", rerun.Steps[^1].Outputs!["report"]!.GetValue<string>())));
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
        Assert.Null(await storeB.ClaimAsync(id, TimeSpan.FromSeconds(10), CancellationToken.None));
        await a.StopAsync();
        await a.DisposeAsync();
        var finished = await EngineTests.WaitForAsync(b, id, e => e.IsFinished, TimeSpan.FromSeconds(60));

        Assert.Equal(ExecutionStatus.Succeeded, finished.Status);
        Assert.Single(await File.ReadAllLinesAsync(marker));
        Assert.Contains("resumed after its server stopped", finished.Steps[1].Log);
    }

    [Fact]
    public async Task A_server_whose_lease_was_taken_can_write_nothing_more_for_the_execution()
    {
        var (a, b) = await TwoQuietServersAsync();
        await using var disposeA = a;
        await using var disposeB = b;
        // Created straight in the store, so neither server's worker runs it: the test plays both owners.
        var storeA = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Storage.ExecutionStore>(a.Services);
        var storeB = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Storage.ExecutionStore>(b.Services);
        var id = $"fenced-{Guid.NewGuid():N}";
        await storeA.CreateExecutionAsync(id, "fenced", "name: fenced", [], [("only", "Condition")], CancellationToken.None);

        // A's lease runs out at once (it stalled); B adopts under the next epoch.
        var heldByA = await storeA.ClaimAsync(id, TimeSpan.Zero, CancellationToken.None);
        await Task.Delay(5);
        var heldByB = await storeB.ClaimAsync(id, TimeSpan.FromSeconds(10), CancellationToken.None);
        var step = (await storeA.GetStepRowsAsync(id, CancellationToken.None)).Single();
        step.Status = StepStatus.Succeeded;
        var trial = new ExecutionTrial("only", 0, "NaiveBayes", null, [], 0.5, "Complete", 1, "", null);

        Assert.NotNull(heldByA);
        Assert.Equal(heldByA.Epoch + 1, heldByB!.Epoch);
        await Assert.ThrowsAsync<Storage.ExecutionFencedException>(() => storeA.RenewAsync(heldByA, TimeSpan.FromSeconds(10), CancellationToken.None));
        await Assert.ThrowsAsync<Storage.ExecutionFencedException>(() => storeA.SaveStepAsync(heldByA, step, CancellationToken.None));
        await Assert.ThrowsAsync<Storage.ExecutionFencedException>(() => storeA.SaveStepsAsync(heldByA, [step], CancellationToken.None));
        await Assert.ThrowsAsync<Storage.ExecutionFencedException>(() => storeA.AddTrialAsync(heldByA, trial, CancellationToken.None));
        await Assert.ThrowsAsync<Storage.ExecutionFencedException>(() => a.Registry.RegisterUnlessLatestAsync(
            Registration(id, 'a'), (c, t, ct) => Storage.ExecutionStore.EnsureHeldAsync(heldByA, c, t, ct), CancellationToken.None));
        Assert.Null(await a.Registry.GetGroupAsync(FencedGroup, CancellationToken.None));
        await Assert.ThrowsAsync<Storage.ExecutionFencedException>(() => storeA.FinishAsync(heldByA, ExecutionStatus.Succeeded, null, CancellationToken.None));
        Assert.Equal(StepStatus.Pending, (await storeB.GetStepRowsAsync(id, CancellationToken.None)).Single().Status);
        Assert.Empty(await storeB.GetTrialsAsync(id, null, CancellationToken.None));
        Assert.Equal(ExecutionStatus.Executing, (await storeB.GetExecutionRowAsync(id, CancellationToken.None))!.Status);

        // The holder writes as before.
        await storeB.SaveStepAsync(heldByB, step, CancellationToken.None);
        await storeB.AddTrialAsync(heldByB, trial, CancellationToken.None);
        Assert.True(await storeB.FinishAsync(heldByB, ExecutionStatus.Succeeded, null, CancellationToken.None));
        Assert.Single(await storeB.GetTrialsAsync(id, null, CancellationToken.None));
    }

    [Fact]
    public async Task A_registration_holds_the_execution_until_it_commits_so_no_takeover_falls_between_its_fencing_check_and_its_write()
    {
        var database = await PipelineHost.NewPostgresDatabaseAsync();
        var (a, b) = await TwoQuietServersAsync(database);
        await using var disposeA = a;
        await using var disposeB = b;
        var storeA = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Storage.ExecutionStore>(a.Services);
        var storeB = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Storage.ExecutionStore>(b.Services);
        var id = $"fenced-{Guid.NewGuid():N}";
        await storeA.CreateExecutionAsync(id, "fenced", "name: fenced", [], [("Register", "Register")], CancellationToken.None);
        // A's lease has run out the moment it is taken (A stalled): B may adopt whenever it looks.
        var heldByA = (await storeA.ClaimAsync(id, TimeSpan.Zero, CancellationToken.None))!;
        var checkedIn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var write = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // A's Register step has passed its fencing check inside the registration's transaction and not yet written.
        var registering = a.Registry.RegisterUnlessLatestAsync(Registration(id, 'a'), async (c, t, ct) =>
        {
            try
            {
                await Storage.ExecutionStore.EnsureHeldAsync(heldByA, c, t, ct);
            }
            catch (Exception e)
            {
                // Fail the test rather than leave it waiting for a check that never passed.
                checkedIn.SetException(e);
                throw;
            }
            checkedIn.SetResult();
            await write.Task;
        }, CancellationToken.None);
        await checkedIn.Task;
        var claim = storeB.ClaimAsync(id, TimeSpan.FromSeconds(600), CancellationToken.None);
        await Eventually.TrueAsync(() => ClaimWaitsForALockAsync(database), "B's claim waits for A's registration to commit", TimeSpan.FromSeconds(30));
        var claimedMeanwhile = claim.IsCompleted;
        write.SetResult();
        var (package, registered) = await registering;
        var heldByB = await claim;

        // B took the execution only once A's registration was in: A registered while it held the execution (and B's
        // Register step finds that version by its lineage). From then on A can register nothing.
        Assert.False(claimedMeanwhile);
        Assert.True(registered);
        Assert.Equal(heldByA.Epoch + 1, heldByB!.Epoch);
        await Assert.ThrowsAsync<Storage.ExecutionFencedException>(() => a.Registry.RegisterUnlessLatestAsync(
            Registration(id, 'b'), (c, t, ct) => Storage.ExecutionStore.EnsureHeldAsync(heldByA, c, t, ct), CancellationToken.None));
        Assert.Equal([package.Id], (await b.Registry.ListPackagesAsync(FencedGroup, null, Registry.PackageSort.Version, CancellationToken.None)).Select(p => p.Id));
    }

    /// <summary>
    /// Two servers on one new PostgreSQL database, with leases and adoption scans far apart so no worker adopts what a
    /// test creates behind their backs. A worker lists the unfinished executions when it starts; one run through each
    /// server proves that listing is behind it, so neither takes an execution created afterwards.
    /// </summary>
    private static async Task<(PipelineHost A, PipelineHost B)> TwoQuietServersAsync(string? database = null)
    {
        database ??= await PipelineHost.NewPostgresDatabaseAsync();
        static void Quiet(PipelineOptions o) => (o.ExecutionLeaseSeconds, o.AdoptionScanSeconds) = (600, 600);
        var a = await PipelineHost.StartAsync(postgresDatabase: database, workers: 1, configure: Quiet);
        var b = await PipelineHost.StartAsync(postgresDatabase: database, workers: 1, configure: Quiet);
        await a.Pipelines.CreateAsync("""
            name: warm-up
            steps:
              - { name: only, type: Condition, condition: { eq: [1, 1] } }
            """, CancellationToken.None);
        foreach (var host in new[] { a, b })
        {
            var warmUp = await host.Executions.StartAsync("warm-up", null, CancellationToken.None);
            await EngineTests.WaitForAsync(host, warmUp, e => e.IsFinished);
        }
        return (a, b);
    }

    private const string FencedGroup = "fenced-bc";

    /// <summary>A registration of <see cref="FencedGroup"/> by <paramref name="executionId"/>'s Register step, its artifact named by one hex digit.</summary>
    private static Registry.RegisterModelPackage Registration(string executionId, char artifact)
    {
        var sha = new string(artifact, 64);
        var empty = System.Text.Json.JsonSerializer.SerializeToElement(new { });
        return new(FencedGroup, new Flotilla.Storage.Artifacts.ArtifactRef(sha, 1, new Uri($"file:///artifacts/sha256/{sha[..2]}/{sha}")),
            empty, empty, new Registry.PackageLineage(executionId, "Register", null), Registry.ApprovalStatus.Approved);
    }

    /// <summary>Whether a claim of an execution (<c>ExecutionStore.ClaimAsync</c>'s statement) is blocked on a row lock.</summary>
    private static async Task<bool> ClaimWaitsForALockAsync(string database)
    {
        await using var connection = new Npgsql.NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%UPDATE pipeline_executions SET owner%'",
            connection);
        return (long)(await command.ExecuteScalarAsync())! > 0;
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
