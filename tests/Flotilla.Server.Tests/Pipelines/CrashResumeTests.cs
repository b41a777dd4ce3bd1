using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;
using System.Text.Json.Nodes;
using Flotilla.Server.Tests.Datasets;
using Flotilla.Testing;

namespace Flotilla.Server.Tests.Pipelines;

/// <summary>
/// The real thing: a `flotilla server` child process is killed with SIGKILL in the middle of tuning and started
/// again on the same data folder. The execution resumes, finished steps are not rerun, finished trials are kept.
/// </summary>
public sealed class CrashResumeTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("flotilla-crash-").FullName;

    [Fact]
    public async Task A_server_killed_mid_tuning_resumes_the_execution_keeping_finished_steps_and_trials()
    {
        // Enough trials that the kill after the second lands mid-tuning: with 6, the faster forest let the rest of the
        // run end between the poll that saw two trials and the kill.
        const int trials = 30;
        JsonObject beforeKill;
        List<JsonObject> seen;
        int kept;
        string id;
        // A path must be under the server's data roots: by default <data>/imports.
        var imported = Path.Combine(Directory.CreateDirectory(Path.Combine(_data, "imports")).FullName, "bc.csv");
        File.Copy(SharedDatasets.Path("breast-cancer.csv"), imported);
        await using (var first = await ChildServer.StartAsync(_data))
        {
            using var dataset = await first.Client.PostAsJsonAsync("/api/datasets",
                new { name = "bc", path = imported, target = "CLASS" });
            Assert.Equal(HttpStatusCode.Created, dataset.StatusCode);
            using var start = await first.Client.PostAsJsonAsync("/api/pipelines/multimodel/executions", new
            {
                parameters = new
                {
                    DatasetName = "bc",
                    MaxTuningJobs = trials,
                    MaxTuningParallelJobs = 1,
                    CrossValidationFolds = 3,
                    Algorithms = new[] { "RandomForest", "LogisticRegression" },
                    TuningStrategy = "Random",
                },
            });
            Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
            id = (await start.Content.ReadFromJsonAsync<JsonObject>())!["executionId"]!.GetValue<string>();

            // Some trials done, tuning not finished: the moment to pull the plug.
            seen = await Eventually.ValueAsync<List<JsonObject>>(
                async () => [.. (await first.Client.GetFromJsonAsync<JsonArray>($"/api/executions/{id}/trials"))!.OfType<JsonObject>()],
                trials => trials.Count >= 2, "two trials have completed", TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(25));
            first.Kill();
            (beforeKill, kept) = await ReadStateAsync(id);
        }

        Assert.Equal("Executing", beforeKill["status"]!.GetValue<string>());
        Assert.Equal("Succeeded", Step(beforeKill, "Preprocess")["status"]!.GetValue<string>());
        Assert.Equal("Executing", Step(beforeKill, "Tune")["status"]!.GetValue<string>());
        Assert.InRange(kept, seen.Count, trials - 1);

        await using var second = await ChildServer.StartAsync(_data);
        var finished = await second.WaitFinishedAsync(id, TimeSpan.FromMinutes(3));
        var trialsAfter = (await second.Client.GetFromJsonAsync<JsonArray>($"/api/executions/{id}/trials"))!.OfType<JsonObject>().ToList();

        Assert.True(finished["status"]!.GetValue<string>() == "Succeeded", finished.ToJsonString());
        var preprocess = Step(finished, "Preprocess");
        Assert.Equal(1, preprocess["attempts"]!.GetValue<int>());
        Assert.Equal(DateTimeOffset.Parse(Step(beforeKill, "Preprocess")["endedAt"]!.GetValue<string>(), CultureInfo.InvariantCulture),
            DateTimeOffset.Parse(preprocess["endedAt"]!.GetValue<string>(), CultureInfo.InvariantCulture));
        Assert.Contains("resumed after its server stopped", Step(finished, "Tune")["log"]!.GetValue<string>());
        Assert.Contains($"resuming: {kept} of {trials} trials were already completed", Step(finished, "Tune")["log"]!.GetValue<string>());
        Assert.Equal(trials, trialsAfter.Count);
        foreach (var before in seen)
        {
            var after = trialsAfter.Single(t => t["number"]!.GetValue<int>() == before["number"]!.GetValue<int>());
            Assert.Equal(before.ToJsonString(), after.ToJsonString());
        }
        Assert.Equal(1, Step(finished, "Register")["outputs"]!["version"]!.GetValue<long>());
    }

    private async Task<(JsonObject Execution, int Trials)> ReadStateAsync(string id)
    {
        // The server is dead: read what it left in its SQLite file (a copy, so the restart finds the original untouched).
        var copy = Directory.CreateTempSubdirectory("flotilla-crash-copy-").FullName;
        try
        {
            foreach (var file in Directory.EnumerateFiles(_data, "flotilla.db*"))
            {
                File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
            }
            using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(copy, "flotilla.db")};Pooling=False");
            await connection.OpenAsync();
            var execution = new JsonObject { ["status"] = Scalar(connection, $"SELECT status FROM pipeline_executions WHERE id = '{id}'") };
            var steps = new JsonArray();
            using (var command = connection.CreateCommand())
            {
                command.CommandText = $"SELECT name, status, ended_ms FROM pipeline_steps WHERE execution_id = '{id}' ORDER BY ordinal";
                using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    steps.Add(new JsonObject
                    {
                        ["name"] = reader.GetString(0),
                        ["status"] = reader.GetString(1),
                        ["endedAt"] = reader.IsDBNull(2) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)).ToString("O"),
                    });
                }
            }
            execution["steps"] = steps;
            using var count = connection.CreateCommand();
            count.CommandText = $"SELECT COUNT(*) FROM pipeline_trials WHERE execution_id = '{id}'";
            return (execution, Convert.ToInt32(await count.ExecuteScalarAsync(), CultureInfo.InvariantCulture));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(copy, recursive: true);
        }
    }

    private static string? Scalar(Microsoft.Data.Sqlite.SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar() as string;
    }

    private static JsonObject Step(JsonObject execution, string name) =>
        execution["steps"]!.AsArray().OfType<JsonObject>().Single(s => s["name"]!.GetValue<string>() == name);

    public void Dispose()
    {
        try { Directory.Delete(_data, recursive: true); } catch (IOException) { }
    }
}

/// <summary>
/// `dotnet flotilla.dll server --data DIR --urls http://127.0.0.1:PORT [-- settings]` as a child process: a machine
/// of its own as far as files go (its data folder is its disk).
/// </summary>
internal sealed partial class ChildServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ChildServer(Process process) => _process = process;

    public HttpClient Client { get; private set; } = null!;

    public int ProcessId => _process.Id;

    /// <summary>
    /// Starts the server. <paramref name="adminKey"/>: the key its client sends (a server joining a database
    /// another one bootstrapped writes none); null reads the one its first start wrote.
    /// </summary>
    public static async Task<ChildServer> StartAsync(string dataDirectory, string? adminKey = null, params string[] settings)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Port 0, and the address read from the server's own start-up line: a port picked free here could be taken by
        // another test's server before this one binds it, and that server would answer this one's calls.
        string[] arguments = [FlotillaCliBinary.Path, "server", "--data", dataDirectory, "--urls", "http://127.0.0.1:0", .. (settings.Length > 0 ? ["--", .. settings] : Array.Empty<string>())];
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        var server = new ChildServer(Process.Start(start)!);
        server._process.OutputDataReceived += (_, e) => server.Append(e.Data);
        server._process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        server._process.BeginOutputReadLine();
        server._process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            Assert.False(server._process.HasExited, $"The server exited with {(server._process.HasExited ? server._process.ExitCode : 0)}:\n{server.Output}");
            Assert.True(DateTime.UtcNow < deadline, $"The server did not say where it listens and answer /healthz within a minute:\n{server.Output}");
            if (server.Client is null && ListeningOn().Match(server.Output) is { Success: true } listening)
            {
                server.Client = new HttpClient { BaseAddress = new Uri(listening.Groups[1].Value), Timeout = TimeSpan.FromSeconds(30) };
            }
            try
            {
                if (server.Client is not null && (await server.Client.GetAsync("/healthz")).IsSuccessStatusCode)
                {
                    // The first start wrote the admin key before it listened; a restart on the same folder keeps it.
                    var key = adminKey ?? Flotilla.Cli.Client.Credentials.ReadKeyFile(dataDirectory);
                    server.Client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
                    return server;
                }
            }
            catch (HttpRequestException)
            {
                // Not answering yet.
            }
            await Task.Delay(100);
        }
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:[0-9]+)")]
    private static partial Regex ListeningOn();

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>SIGKILL: no shutdown code runs, like a power cut.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    /// <summary>SIGSTOP: the process stops dead (every thread, its timers and its lease renewal) until <see cref="Resume"/>.</summary>
    public void Pause() => Signal("STOP");

    /// <summary>SIGCONT: the paused process runs on from where it stopped, unaware of the time that passed.</summary>
    public void Resume() => Signal("CONT");

    private void Signal(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { $"-{signal}", _process.Id.ToString(CultureInfo.InvariantCulture) } })!;
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    public async Task<JsonObject> WaitFinishedAsync(string id, TimeSpan within)
    {
        return await Eventually.ValueAsync(
            async () => (await Client.GetFromJsonAsync<JsonObject>($"/api/executions/{id}"))!,
            execution => execution["status"]!.GetValue<string>() is "Succeeded" or "Failed" or "Stopped",
            $"execution {id} ends", within, TimeSpan.FromMilliseconds(200), () => Output);
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
