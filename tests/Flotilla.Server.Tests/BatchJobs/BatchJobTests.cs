using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Flotilla.Contracts;
using ApprovalStatus = Flotilla.Registry.ApprovalStatus;
using Flotilla.Fleet;
using Flotilla.Server.Tests.Cli;
using Flotilla.Server.Tests.Endpoint;
using Flotilla.Server.Tests.Pipelines;
using Flotilla.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Server.Tests.BatchJobs;

/// <summary>
/// Batch scoring through its door: a server with the tiny model deployed, datasets generated into its imports
/// folder, jobs started, followed, cancelled and downloaded over HTTP and from the command line.
/// </summary>
public sealed class BatchJobTests : IAsyncLifetime
{
    private const int MillionRows = 1_000_000;
    private RunningServer _server = null!;

    // Small chunks and frequent progress so a cancel or a stop lands in the middle of a job, not after it.
    private static readonly string[] Settings = ["--Flotilla:BatchJobs:ChunkRows=1024", "--Flotilla:BatchJobs:ProgressSeconds=0.05"];

    public async Task InitializeAsync()
    {
        _server = await RunningServer.StartAsync(Settings);
        await DeployAsync(_server);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_job_over_a_million_rows_scores_every_row_and_the_result_has_the_inputs_columns_plus_label_and_probability()
    {
        await RegisterDatasetAsync(_server, "million", MillionRows, header: "width,height,color,label");

        var job = await StartAsync(_server, new { group = DeployedModelServer.Group, dataset = "million", outputName = "million-scored" });
        job = await WaitForEndAsync(_server, job);

        Assert.Equal(BatchJobStatus.Succeeded, job.Status);
        Assert.Equal(MillionRows, job.RowsDone);
        Assert.Equal($"{DeployedModelServer.Group}-v1", job.PackageId);
        using var response = await _server.Client.GetAsync($"/api/batch-jobs/{job.Id}/result", HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        Assert.Equal("million-scored.csv", response.Content.Headers.ContentDisposition?.FileName?.Trim('"'));
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal("width,height,color,label,predicted_label,probability", await reader.ReadLineAsync());
        var rows = 0;
        var labels = new HashSet<string>();
        while (await reader.ReadLineAsync() is { } line)
        {
            var fields = line.Split(',');
            Assert.Equal(6, fields.Length);
            labels.Add(fields[4]);
            Assert.InRange(double.Parse(fields[5], CultureInfo.InvariantCulture), 0.5, 1.0);
            rows++;
        }
        Assert.Equal(MillionRows, rows);
        Assert.Equal(["big", "small"], labels.Order());
    }

    [Fact]
    public async Task A_running_job_can_be_cancelled_midway_and_then_has_no_result()
    {
        await RegisterDatasetAsync(_server, "to-cancel", MillionRows, header: "width,height,color,label");
        var job = await StartAsync(_server, new { package = $"{DeployedModelServer.Group}-v1", dataset = "to-cancel" });
        var id = job.Id;
        while (job.RowsDone == 0)
        {
            Assert.Contains(job.Status, new[] { BatchJobStatus.Queued, BatchJobStatus.Running });
            job = await GetAsync(_server, id);
        }

        using var cancel = await _server.Client.PostAsync($"/api/batch-jobs/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        job = await WaitForEndAsync(_server, job);

        Assert.Equal(BatchJobStatus.Cancelled, job.Status);
        Assert.InRange(job.RowsDone, 1, MillionRows - 1);
        using var result = await _server.Client.GetAsync($"/api/batch-jobs/{id}/result");
        Assert.Equal(HttpStatusCode.Conflict, result.StatusCode);
        using var again = await _server.Client.PostAsync($"/api/batch-jobs/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task A_job_scores_on_threads_at_the_lowest_cpu_priority_so_live_invocations_come_first()
    {
        await RegisterDatasetAsync(_server, "niced", MillionRows, header: "width,height,color,label");
        var before = BatchThreads();
        var job = await StartAsync(_server, new { group = DeployedModelServer.Group, dataset = "niced" });
        job = await WaitForEndAsync(_server, job);
        Assert.Equal(BatchJobStatus.Succeeded, job.Status);

        // Every server of this test process has its batch threads; all run at nice 19, and the job's CPU time is on them.
        var after = BatchThreads();
        Assert.NotEmpty(after);
        Assert.All(after.Values, t => Assert.Equal(19, t.Nice));
        var spent = after.Sum(t => t.Value.CpuTicks - (before.TryGetValue(t.Key, out var b) ? b.CpuTicks : 0));
        Assert.True(spent > 0, "the job's parsing and scoring ran on some other thread than the batch threads");
    }

    /// <summary>This process's batch-job threads by thread id: their nice value and user + system CPU ticks (/proc/self/task/*/stat).</summary>
    private static Dictionary<string, (int Nice, long CpuTicks)> BatchThreads()
    {
        var threads = new Dictionary<string, (int, long)>(StringComparer.Ordinal);
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                if (!File.ReadAllText(Path.Combine(task, "comm")).StartsWith("batch-job-", StringComparison.Ordinal))
                {
                    continue;
                }
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                // Fields after the parenthesised name: state is field 3, utime 14, stime 15, nice 19.
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                threads[Path.GetFileName(task)] = (int.Parse(fields[16], CultureInfo.InvariantCulture),
                    long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture));
            }
            catch (IOException)
            {
                // The thread ended between the listing and the read.
            }
        }
        return threads;
    }

    [Fact]
    public async Task A_job_labels_and_scores_every_row_as_an_invocation_of_the_same_version_does_with_its_decision_threshold()
    {
        const string group = "multimodel-cautious";
        await DeployedModelServer.RegisterAsync(_server.Services, group, TinyModels.Artifact(1, decisionThreshold: 0.9), ApprovalStatus.Approved);
        var fleet = _server.Services.GetRequiredService<FleetClient>();
        await Eventually.TrueAsync(() => fleet.TryResolve(group, out _), $"{group} is deployed");
        await RegisterDatasetAsync(_server, "cautious", 300, header: "width,height,color,label");

        var job = await WaitForEndAsync(_server, await StartAsync(_server, new { group, dataset = "cautious" }));
        Assert.Equal(BatchJobStatus.Succeeded, job.Status);
        var scored = (await _server.Client.GetStringAsync($"/api/batch-jobs/{job.Id}/result")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(line => line.Split(',')).ToList();

        using var request = new HttpRequestMessage(HttpMethod.Post, $"/models/{group}/invocations")
        {
            Content = new StringContent(string.Join("\n", scored.Select(f => string.Join(',', f[..3]))), Encoding.UTF8, "text/csv"),
        };
        request.Headers.Accept.ParseAdd("text/csv");
        using var live = await _server.Client.SendAsync(request);
        live.EnsureSuccessStatusCode();
        var answered = (await live.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split(',')).ToList();

        Assert.Equal(300, scored.Count);
        Assert.Equal(answered.Select(a => a[0]), scored.Select(f => f[4]));
        Assert.Equal(answered.Select(a => a[1]), scored.Select(f => f[5]));
        // The cut at 0.9 labels rows "big" that a cut at 0.5 would call "small" (the positive label).
        Assert.Contains(scored, f => f[4] == "big" && double.Parse(f[5], CultureInfo.InvariantCulture) < 0.5);
    }

    [Fact]
    public async Task A_dataset_whose_columns_do_not_match_the_model_is_refused_naming_the_missing_columns()
    {
        await RegisterDatasetAsync(_server, "wrong-columns", 50, header: "width,colour,shade,label");

        using var response = await _server.Client.PostAsJsonAsync("/api/batch-jobs", new { group = DeployedModelServer.Group, dataset = "wrong-columns" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonObject>();
        var detail = problem!["detail"]!.GetValue<string>();
        Assert.Contains("'height'", detail);
        Assert.Contains("'color'", detail);
        Assert.Contains("width, colour, shade, label", detail);
        Assert.Equal(["height", "color"], problem["missingColumns"]!.AsArray().Select(c => c!.GetValue<string>()));
    }

    [Fact]
    public async Task An_output_name_that_is_a_path_is_refused()
    {
        await RegisterDatasetAsync(_server, "named", 10, header: "width,height,color,label");

        using var response = await _server.Client.PostAsJsonAsync("/api/batch-jobs", new { group = DeployedModelServer.Group, dataset = "named", outputName = "../../etc/passwd" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("plain name", (await response.Content.ReadFromJsonAsync<JsonObject>())!["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_server_stopped_mid_job_leaves_it_failed_with_a_reason_and_no_result_after_the_restart()
    {
        var first = _server;
        await RegisterDatasetAsync(first, "interrupted", MillionRows, header: "width,height,color,label");
        var job = await StartAsync(first, new { group = DeployedModelServer.Group, dataset = "interrupted" });
        var id = job.Id;
        while (job.RowsDone == 0)
            job = await GetAsync(first, id);

        await first.StopAsync();
        _server = await RunningServer.StartAsync([.. Settings, $"--Flotilla:DataDirectory={first.DataDirectory}"]);
        try
        {
            var after = await GetAsync(_server, id);
            Assert.Equal(BatchJobStatus.Failed, after.Status);
            Assert.Contains("stopped", after.FailureReason);
            Assert.Null(after.ResultSha256);
            Assert.Empty(Directory.GetFiles(Path.Combine(first.DataDirectory, "batch-jobs")));
            using var result = await _server.Client.GetAsync($"/api/batch-jobs/{id}/result");
            Assert.Equal(HttpStatusCode.Conflict, result.StatusCode);
        }
        finally
        {
            await _server.StopAsync();
            await first.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_server_killed_mid_job_leaves_it_failed_with_a_reason_after_the_restart_and_its_partial_output_is_discarded()
    {
        var first = _server;
        await RegisterDatasetAsync(first, "killed", MillionRows, header: "width,height,color,label");
        await first.StopAsync();
        string id;
        var partial = Path.Combine(first.DataDirectory, "batch-jobs");
        // A `flotilla server` process on the same data folder, killed with SIGKILL while it scores: no shutdown code runs.
        await using (var child = await ChildServer.StartAsync(first.DataDirectory, null, Settings))
        {
            using var start = await child.Client.PostAsJsonAsync("/api/batch-jobs", new { group = DeployedModelServer.Group, dataset = "killed" });
            Assert.True(start.StatusCode == HttpStatusCode.Accepted, await start.Content.ReadAsStringAsync());
            id = (await start.Content.ReadFromJsonAsync(FlotillaJson.Default.BatchJob))!.Id;
            await Eventually.TrueAsync(async () => (await child.Client.GetFromJsonAsync($"/api/batch-jobs/{id}", FlotillaJson.Default.BatchJob))!.RowsDone > 0,
                "the job has scored its first chunks", TimeSpan.FromMinutes(1), TimeSpan.FromMilliseconds(20));
            child.Kill();
        }
        Assert.True(File.Exists(Path.Combine(partial, $"{id}.partial.csv")), "the killed server left its half-written output behind");

        _server = await RunningServer.StartAsync([.. Settings, $"--Flotilla:DataDirectory={first.DataDirectory}"]);
        try
        {
            var after = await Eventually.ValueAsync(() => GetAsync(_server, id), j => j.IsFinished, "the restarted server settles the job", TimeSpan.FromSeconds(30));
            Assert.Equal(BatchJobStatus.Failed, after.Status);
            Assert.Contains("the server restarted while the job ran; its partial output was discarded", after.FailureReason);
            Assert.InRange(after.RowsDone, 1, MillionRows - 1);
            Assert.Null(after.ResultSha256);
            Assert.Empty(Directory.GetFiles(partial));
            using var result = await _server.Client.GetAsync($"/api/batch-jobs/{id}/result");
            Assert.Equal(HttpStatusCode.Conflict, result.StatusCode);
        }
        finally
        {
            await _server.StopAsync();
            await first.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_score_command_follows_the_job_and_downloads_the_result()
    {
        await RegisterDatasetAsync(_server, "from-cli", 2000, header: "width,height,color,label");
        var output = Path.Combine(_server.DataDirectory, "cli-scored.csv");

        var run = await CliRunner.RunAsync(_server, "score", DeployedModelServer.Group, "--dataset", "from-cli", "--out", output);

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("Scored 2000 rows", run.Output);
        Assert.Equal(2001, File.ReadLines(output).Count());
        Assert.False(File.Exists(output + ".partial"));
    }

    [Fact]
    public async Task The_score_command_uploads_a_csv_as_its_own_dataset_and_scores_it()
    {
        var input = Path.Combine(_server.DataDirectory, "november.csv");
        await File.WriteAllTextAsync(input, "color,width,height,label\nred,9.5,9.0,big\nblue,1.0,2.0,small\ngreen,3.0,3.5,small\n");
        var output = Path.Combine(_server.DataDirectory, "november-scored.csv");

        var run = await CliRunner.RunAsync(_server, "score", DeployedModelServer.Group, "--csv", input, "--target", "label", "--out", output);

        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = File.ReadAllLines(output);
        Assert.Equal("color,width,height,label,predicted_label,probability", lines[0]);
        Assert.StartsWith("red,9.5,9.0,big,big,", lines[1]);
        Assert.StartsWith("blue,1.0,2.0,small,small,", lines[2]);
        using var dataset = await _server.Client.GetAsync("/api/datasets/scoring-november");
        Assert.Equal(HttpStatusCode.OK, dataset.StatusCode);
    }

    [Fact]
    public async Task The_score_command_scores_a_file_without_a_label_column_read_from_the_servers_data_roots()
    {
        var input = Path.Combine(Directory.CreateDirectory(Path.Combine(_server.DataDirectory, "imports")).FullName, "december.csv");
        await File.WriteAllTextAsync(input, "id,color,width,height\n1,red,9.5,9.0\n2,blue,1.0,2.0\n");
        var output = Path.Combine(_server.DataDirectory, "december-scored.csv");

        var run = await CliRunner.RunAsync(_server, "score", DeployedModelServer.Group, "--csv", input, "--server-path", "--out", output);

        Assert.True(run.ExitCode == 0, run.ToString());
        var lines = File.ReadAllLines(output);
        Assert.Equal("id,color,width,height,label,probability", lines[0]);
        Assert.StartsWith("1,red,9.5,9.0,big,", lines[1]);
        Assert.StartsWith("2,blue,1.0,2.0,small,", lines[2]);
        var dataset = await _server.Client.GetFromJsonAsync("/api/datasets/scoring-december", FlotillaJson.Default.Dataset);
        Assert.Null(dataset!.Target);
        Assert.Equal(input, dataset.Path);
    }

    [Fact]
    public async Task A_viewer_follows_jobs_but_cannot_start_one()
    {
        var viewer = _server.CreateClient(await _server.CreateKeyAsync("batch-viewer", ["viewer"]));

        using var start = await viewer.PostAsJsonAsync("/api/batch-jobs", new { group = DeployedModelServer.Group, dataset = "any" });
        using var list = await viewer.GetAsync("/api/batch-jobs");

        Assert.Equal(HttpStatusCode.Forbidden, start.StatusCode);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
    }

    private static async Task DeployAsync(RunningServer server)
    {
        await DeployedModelServer.RegisterAsync(server.Services, DeployedModelServer.Group, TinyModels.Artifact(1), ApprovalStatus.Approved);
        var fleet = server.Services.GetRequiredService<FleetClient>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!fleet.TryResolve(DeployedModelServer.Group, out _))
        {
            Assert.True(DateTime.UtcNow < deadline, "the tiny model was not deployed within 30 s of its approval.");
            await Task.Delay(20);
        }
    }

    /// <summary>Writes <paramref name="rows"/> seeded rows into the server's imports folder and registers them by path.</summary>
    private static async Task RegisterDatasetAsync(RunningServer server, string name, int rows, string header)
    {
        var imports = Path.Combine(server.DataDirectory, "imports");
        Directory.CreateDirectory(imports);
        var path = Path.Combine(imports, $"{name}.csv");
        var random = new Random(7);
        string[] colors = ["red", "green", "blue"];
        await using (var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 16))
        {
            await writer.WriteAsync(header + "\n");
            var line = new StringBuilder();
            for (var i = 0; i < rows; i++)
            {
                var width = random.NextDouble() * 10;
                var height = random.NextDouble() * 10;
                line.Clear().Append(CultureInfo.InvariantCulture, $"{width:F2},{height:F2},{colors[i % 3]},{(width + height > 10 ? "big" : "small")}\n");
                await writer.WriteAsync(line);
            }
        }
        using var response = await server.Client.PostAsJsonAsync("/api/datasets", new { name, path, target = "label" });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<BatchJob> StartAsync(RunningServer server, object body)
    {
        using var response = await server.Client.PostAsJsonAsync("/api/batch-jobs", body);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync(FlotillaJson.Default.BatchJob))!;
    }

    private static async Task<BatchJob> GetAsync(RunningServer server, string id) =>
        (await server.Client.GetFromJsonAsync($"/api/batch-jobs/{id}", FlotillaJson.Default.BatchJob))!;

    private static async Task<BatchJob> WaitForEndAsync(RunningServer server, BatchJob job)
    {
        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (!job.IsFinished)
        {
            Assert.True(DateTime.UtcNow < deadline, $"batch job {job.Id} did not end within 2 minutes: {job}");
            await Task.Delay(50);
            job = await GetAsync(server, job.Id);
        }
        return job;
    }
}
