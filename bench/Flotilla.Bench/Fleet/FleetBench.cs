using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using Flotilla.Fleet.Models;
using Flotilla.Fleet.Observability;
using Flotilla.Storage.Artifacts;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Bench.Fleet;

/// <summary>
/// The multi-model endpoint's benchmarks (bench/README.md, "Fleet"):
/// <c>wrk</c> — warm one-row invocations over HTTP, the server started as <c>flotilla server</c> starts it, vs a minimal
/// ASP.NET Core app answering "ok" without logging (<see cref="MinimalApp"/>), one after the other, with wrk -t2 -c32;
/// <c>load</c> — the cost of a miss (load from the artifact store) for breast-cancer models of every family;
/// <c>zipf</c> — 1,000 deployed models, a budget for 100, Zipf(1.0) traffic: hit rate vs an exact LRU simulation;
/// <c>split</c> — invocations of a group split 90/10 across two versions vs a single-version group, same server;
/// <c>shadow</c> — invocations of a group whose every call is copied to a pending shadow version vs a group without one;
/// <c>monitoring</c> — invocations with drift windows on, and with capture at 10 % and 100 %, vs both off, same server.
/// </summary>
internal static partial class FleetBench
{
    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var suite = args.FirstOrDefault() ?? "all";
        var options = Options.Parse(args.Skip(1).ToArray());
        var data = BreastCancer.Load(cancellationToken);
        switch (suite)
        {
            case "wrk": return await WrkAsync(data, options, cancellationToken);
            case "load": return await LoadAsync(data, options, cancellationToken);
            case "zipf": return await ZipfAsync(data, options, cancellationToken);
            case "micro": return await MicroAsync(data, options, cancellationToken);
            case "auth": return await AuthAsync(data, options, cancellationToken);
            case "split": return await SplitAsync(data, options, cancellationToken);
            case "shadow": return await ShadowAsync(data, options, cancellationToken);
            case "monitoring": return await MonitoringAsync(data, options, cancellationToken);
            case "all":
                var failed = await WrkAsync(data, options, cancellationToken);
                failed |= await LoadAsync(data, options, cancellationToken);
                failed |= await ZipfAsync(data, options, cancellationToken);
                return failed;
            default:
                Console.Error.WriteLine(
                    "usage: fleet [wrk|load|zipf|micro|auth|split|shadow|monitoring|all] [--duration 10] [--rounds 3] [--algorithm LightGBM] [--models 1000] [--capacity 100] [--requests 20000] [--seed 42]");
                return 2;
        }
    }

    private static async Task<int> WrkAsync(BreastCancer data, Options options, CancellationToken cancellationToken)
    {
        Console.WriteLine($"== fleet wrk: one-row invocations of a breast-cancer {options.Algorithm} model vs a minimal ASP.NET Core app answering \"ok\" (wrk -t2 -c32, {options.Duration} s each)");
        await using var minimal = await MinimalApp.StartAsync(cancellationToken);
        await using var server = await BenchServer.StartAsync();
        const string group = "multimodel-breast-cancer";
        // With a training profile, as the built-in pipeline registers it: the drift windows are on.
        var package = await server.DeployAsync(group, data.Train(options.Algorithm, options.Seed, cancellationToken), cancellationToken, data.Table);
        await server.WaitDeployedAsync(new Dictionary<string, string> { [group] = package.Artifact.Sha256 }, TimeSpan.FromSeconds(60), cancellationToken);

        var first = Stopwatch.StartNew();
        var response = await server.Client.PostAsync($"/models/{group}/invocations", new StringContent(data.FirstRow, Encoding.UTF8, "text/csv"), cancellationToken);
        first.Stop();
        var stats = server.Services.GetRequiredService<FleetMetrics>().For(package.Artifact.Sha256).Snapshot(package.Artifact.Sha256);
        Console.WriteLine($"first call after deployment: {(int)response.StatusCode}, {Stats.Ms(first.Elapsed.TotalMilliseconds)}, " +
            $"misses {stats.Misses}, loads {stats.Loads} (loaded by the deployment's pre-warm: {(stats.Misses == 0 ? "yes" : "no")})");

        var script = await ScriptAsync(data.FirstRow, server.AdminKey, cancellationToken);
        try
        {
            var invoke = new Uri(server.Address, $"/models/{group}/invocations").ToString();
            var baselineUrl = minimal.Address.ToString();
            await Wrk.RunAsync(baselineUrl, null, 3, cancellationToken);
            await Wrk.RunAsync(invoke, script, 3, cancellationToken);
            // Rounds alternate the two targets so that load from elsewhere on the machine hits both alike.
            var ratios = new List<double>();
            var p99s = new List<double>();
            var baselineP99s = new List<double>();
            long errors = 0;
            for (var round = 1; round <= options.Rounds; round++)
            {
                var baseline = await Wrk.RunAsync(baselineUrl, null, options.Duration, cancellationToken);
                var scored = await Wrk.RunAsync(invoke, script, options.Duration, cancellationToken);
                Console.WriteLine($"round {round}: minimal app GET /                  {baseline}");
                Console.WriteLine($"round {round}: POST /models/{{group}}/invocations  {scored}");
                ratios.Add(scored.RequestsPerSecond / baseline.RequestsPerSecond);
                p99s.Add(scored.P99Ms);
                baselineP99s.Add(baseline.P99Ms);
                errors += scored.Errors;
            }
            var ratio = Stats.Percentile(ratios, 0.5);
            var p99 = Stats.Percentile(p99s, 0.5);
            Console.WriteLine($"invocations / minimal app throughput, median of {options.Rounds}: {ratio:P1} (rounds: {string.Join(", ", ratios.Select(r => r.ToString("P0", CultureInfo.InvariantCulture)))}; bar: >= 65%); " +
                $"invocation p99, median: {Stats.Ms(p99)} (bar: <= 3 ms; the minimal app's p99 in the same rounds: {Stats.Ms(Stats.Percentile(baselineP99s, 0.5))}); failed calls: {errors}");
            return ratio >= 0.65 && p99 <= 3 && errors == 0 ? 0 : 1;
        }
        finally
        {
            File.Delete(script);
        }
    }

    /// <summary>
    /// The cost of a traffic split at the front door: wrk on a group whose calls are split 90/10 across two versions
    /// (smooth weighted round robin) against a group with one version of the same family, same server, rounds alternating.
    /// </summary>
    private static async Task<int> SplitAsync(BreastCancer data, Options options, CancellationToken cancellationToken)
    {
        Console.WriteLine($"== fleet split: one-row invocations, a 90/10 split vs one version ({options.Algorithm}, wrk -t2 -c32, {options.Duration} s each)");
        await using var server = await BenchServer.StartAsync();
        const string plain = "multimodel-bc-plain", split = "multimodel-bc-split";
        var single = await server.DeployAsync(plain, data.Train(options.Algorithm, options.Seed, cancellationToken), cancellationToken);
        await server.DeployAsync(split, data.Train(options.Algorithm, options.Seed + 1, cancellationToken), cancellationToken);
        var second = await server.DeployAsync(split, data.Train(options.Algorithm, options.Seed + 2, cancellationToken), cancellationToken);
        await server.WaitDeployedAsync(new Dictionary<string, string> { [plain] = single.Artifact.Sha256, [split] = second.Artifact.Sha256 }, TimeSpan.FromSeconds(60), cancellationToken);
        using var routes = await server.Client.PutAsync($"/api/endpoint/aliases/{split}",
            new StringContent("""{"routes": [{"version": 1, "weight": 90}, {"version": 2, "weight": 10}]}""", Encoding.UTF8, "application/json"), cancellationToken);
        if (!routes.IsSuccessStatusCode)
        {
            Console.Error.WriteLine($"the split was refused: {await routes.Content.ReadAsStringAsync(cancellationToken)}");
            return 1;
        }
        var script = await ScriptAsync(data.FirstRow, server.AdminKey, cancellationToken);
        try
        {
            var one = new Uri(server.Address, $"/models/{plain}/invocations").ToString();
            var both = new Uri(server.Address, $"/models/{split}/invocations").ToString();
            await Wrk.RunAsync(one, script, 3, cancellationToken);
            await Wrk.RunAsync(both, script, 3, cancellationToken);
            var ratios = new List<double>();
            long errors = 0;
            for (var round = 1; round <= options.Rounds; round++)
            {
                var baseline = await Wrk.RunAsync(one, script, options.Duration, cancellationToken);
                var measured = await Wrk.RunAsync(both, script, options.Duration, cancellationToken);
                Console.WriteLine($"round {round}: one version  {baseline}");
                Console.WriteLine($"round {round}: 90/10 split  {measured}");
                ratios.Add(measured.RequestsPerSecond / baseline.RequestsPerSecond);
                errors += baseline.Errors + measured.Errors;
            }
            var ratio = Stats.Percentile(ratios, 0.5);
            Console.WriteLine($"split / one-version throughput, median of {options.Rounds}: {ratio:P1} (rounds: {string.Join(", ", ratios.Select(r => r.ToString("P0", CultureInfo.InvariantCulture)))}; bar: >= 95%); failed calls: {errors}");
            return ratio >= 0.95 && errors == 0 ? 0 : 1;
        }
        finally
        {
            File.Delete(script);
        }
    }

    /// <summary>
    /// The caller's cost of shadow traffic: wrk on a group whose every call is also offered to a pending shadow version
    /// (scored after the answer, by the background worker, dropped when its queue is full) against a group without a
    /// shadow, same server, rounds alternating. The bar: the caller's throughput with the shadow at least 90 % of
    /// without, and its p99 at most 1 ms worse. Prints how many copies were scored and dropped.
    /// </summary>
    private static async Task<int> ShadowAsync(BreastCancer data, Options options, CancellationToken cancellationToken)
    {
        Console.WriteLine($"== fleet shadow: one-row invocations, 100 % shadow vs none ({options.Algorithm}, wrk -t2 -c32, {options.Duration} s each)");
        await using var server = await BenchServer.StartAsync();
        const string plain = "multimodel-bc-plain", shadowed = "multimodel-bc-shadowed";
        // With training profiles, as the built-in pipeline registers them: both groups' drift windows are on.
        var single = await server.DeployAsync(plain, data.Train(options.Algorithm, options.Seed, cancellationToken), cancellationToken, data.Table);
        var served = await server.DeployAsync(shadowed, data.Train(options.Algorithm, options.Seed + 1, cancellationToken), cancellationToken, data.Table);
        await server.WaitDeployedAsync(new Dictionary<string, string> { [plain] = single.Artifact.Sha256, [shadowed] = served.Artifact.Sha256 }, TimeSpan.FromSeconds(60), cancellationToken);
        var reference = await server.Services.GetRequiredService<IArtifactStore>()
            .PutAsync(data.Train(options.Algorithm, options.Seed + 2, cancellationToken), cancellationToken);
        using (var empty = System.Text.Json.JsonDocument.Parse("{}"))
        {
            await server.Services.GetRequiredService<Flotilla.Registry.ModelRegistry>().RegisterAsync(
                new Flotilla.Registry.RegisterModelPackage(shadowed, reference, empty.RootElement.Clone(), empty.RootElement.Clone(),
                    new Flotilla.Registry.PackageLineage(null, null, null), Flotilla.Registry.ApprovalStatus.PendingManualApproval), cancellationToken);
        }
        using var policy = await server.Client.PutAsync($"/api/endpoint/aliases/{shadowed}",
            new StringContent("""{"version": 1, "shadow": {"version": 2, "percent": 100}}""", Encoding.UTF8, "application/json"), cancellationToken);
        if (!policy.IsSuccessStatusCode)
        {
            Console.Error.WriteLine($"the shadow was refused: {await policy.Content.ReadAsStringAsync(cancellationToken)}");
            return 1;
        }
        var script = await ScriptAsync(data.FirstRow, server.AdminKey, cancellationToken);
        try
        {
            var none = new Uri(server.Address, $"/models/{plain}/invocations").ToString();
            var copied = new Uri(server.Address, $"/models/{shadowed}/invocations").ToString();
            await Wrk.RunAsync(none, script, 3, cancellationToken);
            await Wrk.RunAsync(copied, script, 3, cancellationToken);
            var ratios = new List<double>();
            var p99Deltas = new List<double>();
            long errors = 0;
            for (var round = 1; round <= options.Rounds; round++)
            {
                var baseline = await Wrk.RunAsync(none, script, options.Duration, cancellationToken);
                var measured = await Wrk.RunAsync(copied, script, options.Duration, cancellationToken);
                Console.WriteLine($"round {round}: no shadow    {baseline}");
                Console.WriteLine($"round {round}: 100 % shadow {measured}");
                ratios.Add(measured.RequestsPerSecond / baseline.RequestsPerSecond);
                p99Deltas.Add(measured.P99Ms - baseline.P99Ms);
                errors += baseline.Errors + measured.Errors;
            }
            var stats = server.Services.GetRequiredService<Flotilla.Fleet.Rollout.ShadowTraffic>().Snapshot().Single(s => s.Group == shadowed);
            var ratio = Stats.Percentile(ratios, 0.5);
            var p99Delta = Stats.Percentile(p99Deltas, 0.5);
            Console.WriteLine($"shadow copies: {stats.Calls:N0} taken, {stats.Scored:N0} scored, {stats.Dropped:N0} dropped (queue full), {stats.Failed:N0} failed");
            Console.WriteLine($"shadow / no-shadow throughput, median of {options.Rounds}: {ratio:P1} (rounds: {string.Join(", ", ratios.Select(r => r.ToString("P0", CultureInfo.InvariantCulture)))}; bar: >= 90%); " +
                $"p99 difference, median: {p99Delta:+0.00;-0.00} ms (bar: <= +1 ms); failed calls: {errors}");
            return ratio >= 0.90 && p99Delta <= 1 && errors == 0 ? 0 : 1;
        }
        finally
        {
            File.Delete(script);
        }
    }

    /// <summary>Where a warm invocation's time goes, one thread, in process: model, formatting, fast path, grain call.</summary>
    private static async Task<int> MicroAsync(BreastCancer data, Options options, CancellationToken cancellationToken)
    {
        Console.WriteLine($"== fleet micro: cost of one warm single-row invocation of a breast-cancer {options.Algorithm} model, one thread");
        await using var server = await BenchServer.StartAsync();
        var bytes = data.Train(options.Algorithm, options.Seed, cancellationToken);
        var sha = await server.StoreAsync(bytes, cancellationToken);
        var model = Flotilla.Learning.Artifacts.ModelArtifact.Load(bytes, sha);
        var request = new InvocationRequest(data.FirstRow, PayloadFormat.Csv, PayloadFormat.Csv);
        var grain = server.Services.GetRequiredService<IGrainFactory>().GetGrain<IModelGrain>(sha);
        await grain.WarmAsync();
        var fleet = server.Fleet;
        var monitor = server.Services.GetRequiredService<Flotilla.Fleet.Monitoring.LiveMonitor>();
        const int n = 200_000;
        double Measure(Action body)
        {
            for (var i = 0; i < n / 10; i++) body();
            var watch = Stopwatch.StartNew();
            for (var i = 0; i < n; i++) body();
            return watch.Elapsed.TotalMicroseconds / n;
        }
        async Task<double> MeasureAsync(Func<Task> body)
        {
            for (var i = 0; i < n / 20; i++) await body();
            var watch = Stopwatch.StartNew();
            for (var i = 0; i < n / 2; i++) await body();
            return watch.Elapsed.TotalMicroseconds / (n / 2);
        }
        Console.WriteLine($"LoadedModel.PredictCsv                 {Measure(() => model.PredictCsv(data.FirstRow)),7:F2} us");
        Console.WriteLine($"score + format (the model's answer)    {Measure(() => ModelScoring.Score(model, request, monitor)),7:F2} us");
        Console.WriteLine($"FleetClient.InvokeAsync (co-located)   {await MeasureAsync(async () => await fleet.InvokeAsync(sha, request)),7:F2} us");
        Console.WriteLine($"IModelGrain.InvokeAsync (grain call)   {await MeasureAsync(() => grain.InvokeAsync(request)),7:F2} us");
        return 0;
    }

    private static async Task<int> LoadAsync(BreastCancer data, Options options, CancellationToken cancellationToken)
    {
        Console.WriteLine("== fleet load: a miss (read from the artifact store, verify, load) for breast-cancer models, not the first model of the process");
        await using var server = await BenchServer.StartAsync();
        var metrics = server.Services.GetRequiredService<FleetMetrics>();
        var families = new[] { "LogisticRegression", "NaiveBayes", "LightGBM", "XGBoost", "RandomForest", "NeuralNet" };
        const int perFamily = 8;
        var artifacts = new List<(string Family, string Sha, int Bytes)>();
        foreach (var family in families)
        {
            for (var i = 0; i < perFamily + 1; i++)
            {
                var bytes = data.Train(family, options.Seed + i, cancellationToken);
                artifacts.Add((family, await server.StoreAsync(bytes, cancellationToken), bytes.Length));
            }
        }

        var failed = 0;
        var worst = 0.0;
        Console.WriteLine("family               artifact   miss (HTTP) p50   p95     load p50   p95     warm call p50");
        foreach (var family in families)
        {
            var mine = artifacts.Where(a => a.Family == family).ToList();
            // The family's first model pays for JIT of its code paths; the bar is about the ones after it.
            await InvokeAsync(server, mine[0].Sha, data.FirstRow, cancellationToken);
            var misses = new List<double>();
            var loads = new List<double>();
            var warm = new List<double>();
            foreach (var (_, sha, _) in mine.Skip(1))
            {
                var (status, missMs) = await InvokeAsync(server, sha, data.FirstRow, cancellationToken);
                var (warmStatus, warmMs) = await InvokeAsync(server, sha, data.FirstRow, cancellationToken);
                failed += (status == 200 ? 0 : 1) + (warmStatus == 200 ? 0 : 1);
                misses.Add(missMs);
                warm.Add(warmMs);
                loads.Add(metrics.For(sha).Snapshot(sha).LastLoadSeconds * 1000);
            }
            worst = Math.Max(worst, Stats.Percentile(loads, 0.5));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{family,-20} {mine.Average(a => a.Bytes) / 1024,6:F0} KB  {Stats.Percentile(misses, 0.5),8:F2} {Stats.Percentile(misses, 0.95),7:F2}   " +
                $"{Stats.Percentile(loads, 0.5),8:F2} {Stats.Percentile(loads, 0.95),7:F2}   {Stats.Percentile(warm, 0.5),8:F2}"));
        }
        Console.WriteLine($"slowest family's median load: {Stats.Ms(worst)} (bar: <= 30 ms); failed calls: {failed}");
        return worst <= 30 && failed == 0 ? 0 : 1;
    }

    private static async Task<(int Status, double Ms)> InvokeAsync(BenchServer server, string sha, string row, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/invocations") { Content = new StringContent(row, Encoding.UTF8, "text/csv") };
        request.Headers.Add("X-Target-Model", sha);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/csv"));
        var watch = Stopwatch.StartNew();
        using var response = await server.Client.SendAsync(request, cancellationToken);
        await response.Content.ReadAsByteArrayAsync(cancellationToken);
        return ((int)response.StatusCode, watch.Elapsed.TotalMilliseconds);
    }

    private static async Task<int> ZipfAsync(BreastCancer data, Options options, CancellationToken cancellationToken)
    {
        Console.WriteLine($"== fleet zipf: {options.Models} deployed breast-cancer {options.ZipfAlgorithm} models, a budget for {options.Capacity}, " +
            $"{options.Requests} Zipf(1.0) requests over HTTP, {options.Workers} at a time");
        var training = Stopwatch.StartNew();
        var artifacts = Enumerable.Range(0, options.Models)
            .AsParallel().AsOrdered().WithCancellation(cancellationToken)
            .Select(i => data.Train(options.ZipfAlgorithm, options.Seed + i, cancellationToken))
            .ToList();
        var size = Flotilla.Learning.Artifacts.ModelArtifact.Load(artifacts[0], Flotilla.Learning.Artifacts.ModelArtifact.Sha256(artifacts[0])).ApproximateBytes;
        var budget = size * options.Capacity + size / 2;
        Console.WriteLine($"trained {options.Models} models in {training.Elapsed.TotalSeconds:F1} s; each ~{size:N0} bytes in memory; budget {budget:N0} bytes");

        await using var server = await BenchServer.StartAsync($"--Flotilla:Fleet:MemoryBudgetBytes={budget}");
        var deploying = Stopwatch.StartNew();
        var groups = new Dictionary<string, string>();
        for (var i = 0; i < artifacts.Count; i++)
        {
            var group = $"zipf-{i:D4}";
            groups[group] = (await server.DeployAsync(group, artifacts[i], cancellationToken)).Artifact.Sha256;
        }
        await server.WaitDeployedAsync(groups, TimeSpan.FromMinutes(10), cancellationToken);
        Console.WriteLine($"deployed {groups.Count} groups through the registry's events in {deploying.Elapsed.TotalSeconds:F1} s");

        var names = groups.Keys.Order(StringComparer.Ordinal).ToArray();
        var trace = ZipfTrace(names.Length, options.Requests, options.Seed);
        var budgetState = server.Services.GetRequiredService<ModelBudget>();
        var metrics = server.Services.GetRequiredService<FleetMetrics>();
        var (hitsBefore, missesBefore) = Totals(metrics);
        GC.Collect();
        var heapBefore = GC.GetTotalMemory(forceFullCollection: true);

        long maxBytes = 0;
        using var sampling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                maxBytes = Math.Max(maxBytes, budgetState.BytesInUse);
                await Task.Delay(1, CancellationToken.None);
            }
        }, CancellationToken.None);

        var next = -1;
        var failures = 0;
        var running = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, options.Workers).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < trace.Length)
            {
                using var content = new StringContent(data.FirstRow, Encoding.UTF8, "text/csv");
                using var response = await server.Client.PostAsync($"/models/{names[trace[i]]}/invocations", content, cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        }, cancellationToken)));
        running.Stop();
        await sampling.CancelAsync();
        await sampler;
        var heapAfter = GC.GetTotalMemory(forceFullCollection: true);

        var (hitsAfter, missesAfter) = Totals(metrics);
        var hits = hitsAfter - hitsBefore;
        var misses = missesAfter - missesBefore;
        var measured = hits / (double)(hits + misses);
        var simulated = LruHitRate(trace, options.Capacity);
        Console.WriteLine($"{trace.Length} requests in {running.Elapsed.TotalSeconds:F1} s ({trace.Length / running.Elapsed.TotalSeconds:F0} req/s); failed calls: {failures}");
        Console.WriteLine($"hit rate: fleet {measured:P2}, exact LRU simulation of the same trace {simulated:P2}, " +
            $"difference {(measured - simulated) * 100:F2} points (bar: within 2)");
        Console.WriteLine($"models' bytes in use: max {maxBytes:N0} of a {budget:N0} budget ({maxBytes / (double)budget:P1}; bar: <= 120%); " +
            $"managed heap {heapAfter / 1048576.0:F1} MB after the trace vs {heapBefore / 1048576.0:F1} MB before it");
        return Math.Abs(measured - simulated) <= 0.02 && maxBytes <= budget * 1.2 && failures == 0 ? 0 : 1;
    }

    private static (long Hits, long Misses) Totals(FleetMetrics metrics)
    {
        var all = metrics.Snapshot();
        return (all.Sum(m => m.Hits), all.Sum(m => m.Misses));
    }

    /// <summary>Request i asks for model trace[i]; P(rank k) ∝ 1/k, ranks shuffled over the models with the same seed.</summary>
    private static int[] ZipfTrace(int models, int requests, int seed)
    {
        var random = new Random(seed);
        var cumulative = new double[models];
        var sum = 0.0;
        for (var k = 0; k < models; k++)
        {
            sum += 1.0 / (k + 1);
            cumulative[k] = sum;
        }
        var modelOfRank = Enumerable.Range(0, models).ToArray();
        random.Shuffle(modelOfRank);
        var trace = new int[requests];
        for (var i = 0; i < requests; i++)
        {
            var rank = Array.BinarySearch(cumulative, random.NextDouble() * sum);
            trace[i] = modelOfRank[rank < 0 ? ~rank : rank];
        }
        return trace;
    }

    /// <summary>An exact LRU cache of <paramref name="capacity"/> entries replaying the trace, starting cold.</summary>
    private static double LruHitRate(int[] trace, int capacity)
    {
        var order = new LinkedList<int>();
        var nodes = new Dictionary<int, LinkedListNode<int>>();
        var hits = 0;
        foreach (var model in trace)
        {
            if (nodes.TryGetValue(model, out var node))
            {
                hits++;
                order.Remove(node);
                order.AddFirst(node);
                continue;
            }
            if (nodes.Count == capacity)
            {
                nodes.Remove(order.Last!.Value);
                order.RemoveLast();
            }
            nodes[model] = order.AddFirst(model);
        }
        return hits / (double)trace.Length;
    }

    private sealed record Options(int Duration, int Rounds, string Algorithm, string ZipfAlgorithm, int Models, int Capacity, int Requests, int Workers, int Seed)
    {
        public static Options Parse(string[] args)
        {
            string Get(string name, string fallback)
            {
                var i = Array.IndexOf(args, $"--{name}");
                return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
            }
            return new Options(
                int.Parse(Get("duration", "10"), CultureInfo.InvariantCulture),
                int.Parse(Get("rounds", "3"), CultureInfo.InvariantCulture),
                Get("algorithm", "LightGBM"),
                Get("zipf-algorithm", "NaiveBayes"),
                int.Parse(Get("models", "1000"), CultureInfo.InvariantCulture),
                int.Parse(Get("capacity", "100"), CultureInfo.InvariantCulture),
                int.Parse(Get("requests", "20000"), CultureInfo.InvariantCulture),
                int.Parse(Get("workers", "4"), CultureInfo.InvariantCulture),
                int.Parse(Get("seed", "42"), CultureInfo.InvariantCulture));
        }
    }

    /// <summary>Runs wrk -t2 -c32 (or <c>connections</c>) and reads its summary.</summary>
    internal static partial class Wrk
    {
        public static async Task<Result> RunAsync(string url, string? script, int seconds, CancellationToken cancellationToken, int connections = 32)
        {
            var start = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in new[] { "-t2", $"-c{connections}", $"-d{seconds}s", "--latency" })
            {
                start.ArgumentList.Add(argument);
            }
            if (script is not null)
            {
                start.ArgumentList.Add("-s");
                start.ArgumentList.Add(script);
            }
            start.ArgumentList.Add(url);
            using var process = Process.Start(start) ?? throw new InvalidOperationException("wrk did not start; install it with apt-get install -y wrk.");
            var output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"wrk failed ({process.ExitCode}): {await process.StandardError.ReadToEndAsync(cancellationToken)}");
            }
            var rps = double.Parse(RequestsPerSecond().Match(output).Groups[1].Value, CultureInfo.InvariantCulture);
            var p50 = Latency(Percentile50().Match(output));
            var p99 = Latency(Percentile99().Match(output));
            var non2xx = NonSuccess().Match(output);
            var errors = non2xx.Success ? long.Parse(non2xx.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
            var socket = SocketErrors().Match(output);
            if (socket.Success)
            {
                errors += socket.Groups.Values.Skip(1).Sum(g => long.Parse(g.Value, CultureInfo.InvariantCulture));
            }
            return new Result(rps, p50, p99, errors);
        }

        private static double Latency(Match match)
        {
            var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            return match.Groups[2].Value switch { "us" => value / 1000, "ms" => value, "s" => value * 1000, _ => value * 60_000 };
        }

        [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
        private static partial Regex RequestsPerSecond();

        [GeneratedRegex(@"50%\s+([\d.]+)(us|ms|s|m)")]
        private static partial Regex Percentile50();

        [GeneratedRegex(@"99%\s+([\d.]+)(us|ms|s|m)")]
        private static partial Regex Percentile99();

        [GeneratedRegex(@"Non-2xx or 3xx responses:\s+(\d+)")]
        private static partial Regex NonSuccess();

        [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
        private static partial Regex SocketErrors();
    }

    internal sealed record Result(double RequestsPerSecond, double P50Ms, double P99Ms, long Errors)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{RequestsPerSecond,9:F0} req/s  p50 {P50Ms:F2} ms  p99 {P99Ms:F2} ms  errors {Errors}");
    }
}
