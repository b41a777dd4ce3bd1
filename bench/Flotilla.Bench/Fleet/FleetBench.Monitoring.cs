using System.Globalization;
using System.Net.Http.Json;
using Flotilla.Server.Monitoring;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Bench.Fleet;

internal static partial class FleetBench
{
    /// <summary>
    /// What watching costs an invocation, on one server: a group registered without a training profile and not
    /// captured (both off) against a group of the same family with a profile (drift windows on), then captured at
    /// 10 % and 100 %. Rounds run the four in turn; each figure is the median of its per-round ratio to "both off".
    /// </summary>
    private static async Task<int> MonitoringAsync(BreastCancer data, Options options, CancellationToken cancellationToken)
    {
        Console.WriteLine($"== fleet monitoring: one-row invocations, drift windows and capture vs both off (wrk -t2 -c32, {options.Duration} s, {options.Rounds} rounds)");
        await using var server = await BenchServer.StartAsync();
        const string plain = "multimodel-bc-plain", watched = "multimodel-bc-watched";
        var off = await server.DeployAsync(plain, data.Train(options.Algorithm, options.Seed, cancellationToken), cancellationToken);
        var on = await server.DeployAsync(watched, data.Train(options.Algorithm, options.Seed + 1, cancellationToken), cancellationToken, data.Table);
        await server.WaitDeployedAsync(new Dictionary<string, string> { [plain] = off.Artifact.Sha256, [watched] = on.Artifact.Sha256 }, TimeSpan.FromSeconds(60), cancellationToken);
        var capture = server.Services.GetRequiredService<RequestCapture>();
        var script = await ScriptAsync(data.FirstRow, server.AdminKey, cancellationToken);
        async Task CaptureAsync(double percent) =>
            (await server.Client.PutAsJsonAsync($"/api/endpoint/groups/{watched}/capture", new { percent }, cancellationToken)).EnsureSuccessStatusCode();
        try
        {
            var plainUrl = new Uri(server.Address, $"/models/{plain}/invocations").ToString();
            var watchedUrl = new Uri(server.Address, $"/models/{watched}/invocations").ToString();
            await Wrk.RunAsync(plainUrl, script, 3, cancellationToken);
            await Wrk.RunAsync(watchedUrl, script, 3, cancellationToken);
            var ratios = new Dictionary<string, List<double>> { ["drift"] = [], ["capture 10%"] = [], ["capture 100%"] = [] };
            long errors = 0;
            for (var round = 1; round <= options.Rounds; round++)
            {
                await CaptureAsync(0);
                // The previous round's 100 % backlog is written now, not during the next "both off" run.
                await capture.FlushAsync(cancellationToken);
                var baseline = await Wrk.RunAsync(plainUrl, script, options.Duration, cancellationToken);
                var drift = await Wrk.RunAsync(watchedUrl, script, options.Duration, cancellationToken);
                await CaptureAsync(10);
                var ten = await Wrk.RunAsync(watchedUrl, script, options.Duration, cancellationToken);
                await CaptureAsync(100);
                var hundred = await Wrk.RunAsync(watchedUrl, script, options.Duration, cancellationToken);
                Console.WriteLine($"round {round}: both off       {baseline}");
                Console.WriteLine($"round {round}: drift windows  {drift}");
                Console.WriteLine($"round {round}: capture 10%    {ten}");
                Console.WriteLine($"round {round}: capture 100%   {hundred}");
                ratios["drift"].Add(drift.RequestsPerSecond / baseline.RequestsPerSecond);
                ratios["capture 10%"].Add(ten.RequestsPerSecond / baseline.RequestsPerSecond);
                ratios["capture 100%"].Add(hundred.RequestsPerSecond / baseline.RequestsPerSecond);
                errors += baseline.Errors + drift.Errors + ten.Errors + hundred.Errors;
            }
            var writer = await WriterCostAsync(server, capture, watched, on.Artifact.Sha256, watchedUrl, data.FirstRow, cancellationToken);
            await CaptureAsync(0);
            var medians = ratios.ToDictionary(r => r.Key, r => Stats.Percentile(r.Value, 0.5));
            foreach (var (name, values) in ratios)
            {
                Console.WriteLine($"{name,-13} / both off, median: {medians[name]:P1} (rounds: {string.Join(", ", values.Select(v => v.ToString("P0", CultureInfo.InvariantCulture)))})");
            }
            Console.WriteLine($"bars: drift >= 90%, capture 10% >= 90%, capture 100% >= 75%; captured calls written {capture.Written:N0}, dropped (queue full) {capture.Dropped:N0}; failed calls: {errors}");
            Console.WriteLine($"capture writer alone (a full queue of one-row calls flushed, median of 3): {writer:F1} µs a call, {1e6 / writer:N0} calls/s on one thread");
            return medians["drift"] >= 0.9 && medians["capture 10%"] >= 0.9 && medians["capture 100%"] >= 0.75 && errors == 0 ? 0 : 1;
        }
        finally
        {
            File.Delete(script);
        }
    }

    /// <summary>
    /// What the capture writer spends per call, apart from the invocations: the queue filled with copies of one answered
    /// one-row call, then one flush (read the rows, a JSON line each, gzip, one put, the byte cap), timed.
    /// </summary>
    private static async Task<double> WriterCostAsync(
        BenchServer server, RequestCapture capture, string group, string artifactSha256, string url, string row, CancellationToken cancellationToken)
    {
        using var answered = await server.Client.PostAsync(url, new StringContent(row, System.Text.Encoding.UTF8, "text/csv"), cancellationToken);
        var answer = await answered.Content.ReadAsByteArrayAsync(cancellationToken);
        var perCall = new List<double>();
        for (var repeat = 0; repeat < 3; repeat++)
        {
            await capture.FlushAsync(cancellationToken);
            var before = capture.Written;
            for (var i = 0; i < 10_000; i++)
            {
                capture.Offer(group, artifactSha256, new Flotilla.Fleet.Models.InvocationRequest(row, Flotilla.Fleet.Models.PayloadFormat.Csv, Flotilla.Fleet.Models.PayloadFormat.Json, 1, $"bench-{repeat}-{i}"), answer);
            }
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            await capture.FlushAsync(cancellationToken);
            var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
            perCall.Add(seconds * 1e6 / Math.Max(1, capture.Written - before));
        }
        return Stats.Percentile(perCall, 0.5);
    }
}
