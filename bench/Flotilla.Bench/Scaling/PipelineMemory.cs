using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Flotilla.Bench.Fleet;
using static Flotilla.Bench.BenchContext;

namespace Flotilla.Bench.Scaling;

/// <summary>
/// `scaling --pipeline`: one generated table (the scaling suite's 20 columns, --rows of them) through the built-in
/// pipeline of a real server in this process — dataset registration, Preprocess, Tune (small: --trials, --algorithms,
/// --max-seconds), Refit, Evaluate, Register — with the process's resident set sampled every 50 ms and charged to the
/// step running at the time, and the bytes allocated per step. Run it under <c>/usr/bin/time -v</c> for the kernel's
/// own peak (Maximum resident set size), which does not depend on the sampling.
/// </summary>
internal static class PipelineMemory
{
    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var rows = int.Parse(Option(args, "--rows") ?? "1000000", CultureInfo.InvariantCulture);
        var trials = int.Parse(Option(args, "--trials") ?? "6", CultureInfo.InvariantCulture);
        var missing = double.Parse(Option(args, "--missing") ?? "0.05", CultureInfo.InvariantCulture);
        var maxSeconds = double.Parse(Option(args, "--max-seconds") ?? "900", CultureInfo.InvariantCulture);
        var algorithms = (Option(args, "--algorithms") ?? "RandomForest,XGBoost,LightGBM,LogisticRegression,NaiveBayes").Split(',');
        Console.WriteLine($"# pipeline memory — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average {LoadAverage()}");
        Console.WriteLine(Invariant($"{rows:N0} rows × 20 columns, {missing:P0} missing cells; Tune: {trials} trials of {string.Join(", ", algorithms)}, budget {maxSeconds} s"));
        Console.WriteLine();

        await using var server = await BenchServer.StartAsync("--Logging:LogLevel:Default=Warning");
        var path = Path.Combine(Directory.CreateDirectory(Path.Combine(server.DataDirectory, "imports")).FullName, "scaling.csv");
        ScalingBench.Generate(path, rows, seed: 42, missing);
        Console.WriteLine(Invariant($"generated {new FileInfo(path).Length / 1e6:F0} MB; resident before registration {Resident() / 1e6:F0} MB"));

        var phases = new List<Phase>();
        var sampler = new Sampler();
        using var sampling = new CancellationTokenSource();
        var sampled = sampler.RunAsync(sampling.Token);
        try
        {
            sampler.Enter("register dataset");
            using (var response = await server.Client.PostAsJsonAsync("/api/datasets", new { name = "scaling", path, target = "label" }, ct))
            {
                response.EnsureSuccessStatusCode();
            }
            phases.Add(sampler.Leave());

            var parameters = new
            {
                DatasetName = "scaling",
                MaxTuningJobs = trials,
                MaxTuningSeconds = maxSeconds,
                Algorithms = algorithms,
                RandomState = 42,
                MinThresholdForRegisterMetric = 0,
            };
            using var start = await server.Client.PostAsJsonAsync("/api/pipelines/multimodel/executions", new { parameters }, ct);
            start.EnsureSuccessStatusCode();
            var id = (await start.Content.ReadFromJsonAsync<JsonObject>(ct))!["executionId"]!.GetValue<string>();
            string? running = null;
            JsonObject execution;
            while (true)
            {
                execution = (await server.Client.GetFromJsonAsync<JsonObject>($"/api/executions/{id}", ct))!;
                var now = execution["steps"]!.AsArray().FirstOrDefault(s => s!["status"]!.GetValue<string>() == "Executing")?["name"]!.GetValue<string>();
                if (now != running)
                {
                    if (running is not null)
                    {
                        phases.Add(sampler.Leave());
                    }
                    if (now is not null)
                    {
                        sampler.Enter(now);
                    }
                    running = now;
                }
                if (execution["status"]!.GetValue<string>() is "Succeeded" or "Failed" or "Stopped")
                {
                    break;
                }
                await Task.Delay(100, ct);
            }
            if (running is not null)
            {
                phases.Add(sampler.Leave());
            }

            Console.WriteLine($"execution {id}: {execution["status"]}");
            foreach (var step in execution["steps"]!.AsArray())
            {
                if (step!["status"]!.GetValue<string>() == "Failed")
                {
                    Console.WriteLine($"  {step["name"]} failed: {step["failureReason"]}");
                }
            }
            var tune = execution["steps"]!.AsArray().FirstOrDefault(s => s!["name"]!.GetValue<string>() == "Tune")?["outputs"];
            if (tune is not null)
            {
                var trialList = (await server.Client.GetFromJsonAsync<JsonArray>($"/api/executions/{id}/trials", ct))!;
                Console.WriteLine(Invariant($"Tune: {tune["trials"]} trials ({string.Join(", ", trialList.Select(t => $"{t!["algorithm"]} {t["status"]} {t["seconds"]?.GetValue<double>():F0} s"))}), best {tune["bestAlgorithm"]} {tune["bestScore"]?.GetValue<double>():F4}"));
            }
        }
        finally
        {
            sampling.Cancel();
            await sampled;
        }

        Console.WriteLine();
        Console.WriteLine("| phase | seconds | peak resident MB during it | allocated MB | managed heap MB after |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var phase in phases)
        {
            Console.WriteLine(Invariant($"| {phase.Name} | {phase.Seconds:F1} | {phase.PeakResident / 1e6:F0} | {phase.Allocated / 1e6:F0} | {phase.HeapAfter / 1e6:F0} |"));
        }
        Console.WriteLine();
        Console.WriteLine(Invariant($"process peak resident (VmHWM) {Status("VmHWM") / 1e6:F0} MB; load average {LoadAverage()}"));
        return 0;
    }

    private sealed record Phase(string Name, double Seconds, long PeakResident, long Allocated, long HeapAfter);

    /// <summary>Samples the resident set every 50 ms; <see cref="Leave"/> reports the largest seen since <see cref="Enter"/>.</summary>
    private sealed class Sampler
    {
        private long _peak;
        private string _name = "";
        private long _allocated;
        private long _started;

        public void Enter(string name)
        {
            _name = name;
            _allocated = GC.GetTotalAllocatedBytes(precise: false);
            _started = Stopwatch.GetTimestamp();
            Interlocked.Exchange(ref _peak, Resident());
        }

        public Phase Leave() => new(
            _name, Stopwatch.GetElapsedTime(_started).TotalSeconds, Math.Max(Interlocked.Read(ref _peak), Resident()),
            GC.GetTotalAllocatedBytes(precise: false) - _allocated, GC.GetTotalMemory(forceFullCollection: false));

        public async Task RunAsync(CancellationToken ct)
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
            try
            {
                while (await timer.WaitForNextTickAsync(ct))
                {
                    var now = Resident();
                    long seen;
                    while (now > (seen = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, seen) != seen)
                    {
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private static long Resident() => Status("VmRSS");

    /// <summary>A size line of /proc/self/status (kB there), in bytes.</summary>
    private static long Status(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }
        return 0;
    }
}
