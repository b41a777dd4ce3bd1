using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Flotilla.Server.Monitoring;
using Flotilla.Storage.Artifacts;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Server.Tests.Monitoring;

public sealed class CaptureTests
{
    private const string Group = MonitoredServer.Group;

    private static async Task<List<JsonElement>> CapturedAsync(IArtifactStore store)
    {
        var lines = new List<JsonElement>();
        await foreach (var o in store.ListObjectsAsync($"capture/{Group}/", CancellationToken.None))
        {
            await using var gzip = new GZipStream(await store.OpenObjectAsync(o.Key, CancellationToken.None), CompressionMode.Decompress);
            using var reader = new StreamReader(gzip);
            while (await reader.ReadLineAsync() is { } line)
            {
                lines.Add(JsonDocument.Parse(line).RootElement.Clone());
            }
        }
        return lines;
    }

    [Fact]
    public async Task Capture_at_100_percent_under_load_loses_no_call_until_the_queue_is_full_then_drops_and_counts()
    {
        var fixture = await MonitoredServer.StartAsync("--Flotilla:Endpoint:Capture:QueueCapacity=50", "--Flotilla:Endpoint:Capture:FlushInterval=01:00:00",
            "--Flotilla:Endpoint:Capture:BatchRecords=100000");
        try
        {
            var client = fixture.Client;
            var capture = fixture.Server.Services.GetRequiredService<RequestCapture>();
            var store = fixture.Server.Services.GetRequiredService<IArtifactStore>();
            Assert.Equal(HttpStatusCode.OK, (await client.PutAsJsonAsync($"/api/endpoint/groups/{Group}/capture", new { percent = 100 })).StatusCode);

            async Task InvokeAsync(int count) => await Parallel.ForEachAsync(MonitoredServer.Rows(new Random(count), count, 0), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (row, ct) =>
            {
                using var response = await client.PostAsync($"/models/{Group}/invocations", new StringContent(MonitoredServer.Csv(row), Encoding.UTF8, "text/csv"), ct);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            });

            await InvokeAsync(50);
            await capture.FlushAsync(CancellationToken.None);
            var first = await CapturedAsync(store);
            Assert.Equal(50, first.Count);
            Assert.Equal(0, capture.Dropped);
            Assert.All(first, line =>
            {
                Assert.Equal(1, line.GetProperty("version").GetInt32());
                Assert.Equal(32, line.GetProperty("requestId").GetString()!.Length);
                Assert.InRange(line.GetProperty("probability").GetDouble(), 0.5, 1.0);
            });
            Assert.Equal(50, first.Select(l => l.GetProperty("requestId").GetString()).Distinct().Count());

            await InvokeAsync(80);
            Assert.Equal(30, capture.Dropped);
            await capture.FlushAsync(CancellationToken.None);
            Assert.Equal(100, (await CapturedAsync(store)).Count);
            Assert.Contains("flotilla_capture_dropped_total 30", await client.GetStringAsync("/metrics"), StringComparison.Ordinal);

            var view = await client.GetFromJsonAsync<JsonElement>($"/api/endpoint/groups/{Group}/capture");
            Assert.Equal(100, view.GetProperty("percent").GetDouble());
            Assert.Equal(2, view.GetProperty("objects").GetInt64());

            // Back to the default (0): nothing more is captured.
            await client.PutAsJsonAsync($"/api/endpoint/groups/{Group}/capture", new { percent = (double?)null });
            await InvokeAsync(10);
            await capture.FlushAsync(CancellationToken.None);
            Assert.Equal(100, (await CapturedAsync(store)).Count);
            Assert.Equal(HttpStatusCode.BadRequest, (await client.PutAsJsonAsync($"/api/endpoint/groups/{Group}/capture", new { percent = 120 })).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await client.PutAsJsonAsync("/api/endpoint/groups/multimodel-nothing/capture", new { percent = 5 })).StatusCode);
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }

    [Fact]
    public async Task Each_captured_row_is_a_line_of_its_features_label_probability_version_request_id_and_time_whatever_the_format()
    {
        var fixture = await MonitoredServer.StartAsync("--Flotilla:Endpoint:Capture:Percent=100", "--Flotilla:Endpoint:Capture:FlushInterval=01:00:00");
        try
        {
            var client = fixture.Client;
            var before = DateTimeOffset.UtcNow;
            using var csvCall = new HttpRequestMessage(HttpMethod.Post, $"/models/{Group}/invocations") { Content = new StringContent("3.500,7.250,green\n", Encoding.UTF8, "text/csv") };
            csvCall.Headers.Add("X-Flotilla-Request-Id", "capture-csv");
            using var csvAnswer = await client.SendAsync(csvCall);
            var csvPrediction = (await csvAnswer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("predictions")[0];

            // Three JSON rows answered as CSV: a missing category, a missing number, and the label column, which is no feature.
            const string rows = """[{"width": 1, "height": 2, "color": "red"}, {"width": 9, "height": 9.5, "color": null}, {"width": "NA", "height": 4, "color": "blue", "label": "big"}]""";
            using var jsonCall = new HttpRequestMessage(HttpMethod.Post, $"/models/{Group}/invocations") { Content = new StringContent(rows, Encoding.UTF8, "application/json") };
            jsonCall.Headers.Add("X-Flotilla-Request-Id", "capture-json");
            jsonCall.Headers.Accept.ParseAdd("text/csv");
            using var jsonAnswer = await client.SendAsync(jsonCall);
            var answered = (await jsonAnswer.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(',')).ToList();
            var after = DateTimeOffset.UtcNow;

            await fixture.Server.Services.GetRequiredService<RequestCapture>().FlushAsync(CancellationToken.None);
            var lines = await CapturedAsync(fixture.Server.Services.GetRequiredService<IArtifactStore>());

            Assert.Equal(4, lines.Count);
            Assert.All(lines, line =>
            {
                Assert.Equal(Group, line.GetProperty("group").GetString());
                Assert.Equal(1, line.GetProperty("version").GetInt32());
                Assert.Equal(fixture.Package.Artifact.Sha256, line.GetProperty("artifactSha256").GetString());
                Assert.InRange(line.GetProperty("time").GetDateTimeOffset(), before.AddSeconds(-1), after.AddSeconds(1));
                Assert.Equal(["width", "height", "color"], line.GetProperty("features").EnumerateObject().Select(p => p.Name));
            });
            var csvLine = Assert.Single(lines, l => l.GetProperty("requestId").GetString() == "capture-csv");
            Assert.Equal(0, csvLine.GetProperty("row").GetInt32());
            Assert.Equal(3.5, csvLine.GetProperty("features").GetProperty("width").GetDouble());
            Assert.Equal(7.25, csvLine.GetProperty("features").GetProperty("height").GetDouble());
            Assert.Equal("green", csvLine.GetProperty("features").GetProperty("color").GetString());
            Assert.Equal(csvPrediction.GetProperty("label").GetString(), csvLine.GetProperty("label").GetString());
            Assert.Equal(csvPrediction.GetProperty("probability").GetDouble(), csvLine.GetProperty("probability").GetDouble());

            var jsonLines = lines.Where(l => l.GetProperty("requestId").GetString() == "capture-json").OrderBy(l => l.GetProperty("row").GetInt32()).ToList();
            Assert.Equal([0, 1, 2], jsonLines.Select(l => l.GetProperty("row").GetInt32()));
            Assert.Equal(JsonValueKind.Null, jsonLines[1].GetProperty("features").GetProperty("color").ValueKind);
            Assert.Equal(JsonValueKind.Null, jsonLines[2].GetProperty("features").GetProperty("width").ValueKind);
            Assert.Equal(answered.Select(a => a[0]), jsonLines.Select(l => l.GetProperty("label").GetString()));
            Assert.Equal(answered.Select(a => double.Parse(a[1], System.Globalization.CultureInfo.InvariantCulture)), jsonLines.Select(l => l.GetProperty("probability").GetDouble()));

            // A line's features are a JSON row: sent again, they get the answer the line recorded.
            using var replay = await client.PostAsync($"/models/{Group}/invocations",
                new StringContent(jsonLines[1].GetProperty("features").GetRawText(), Encoding.UTF8, "application/json"));
            var replayed = (await replay.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("predictions")[0];
            Assert.Equal(jsonLines[1].GetProperty("label").GetString(), replayed.GetProperty("label").GetString());
            Assert.Equal(jsonLines[1].GetProperty("probability").GetDouble(), replayed.GetProperty("probability").GetDouble());
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_groups_capture_past_its_byte_cap_loses_its_oldest_batches_first()
    {
        var fixture = await MonitoredServer.StartAsync("--Flotilla:Endpoint:Capture:Percent=100", "--Flotilla:Endpoint:Capture:FlushInterval=01:00:00",
            "--Flotilla:Endpoint:Capture:MaxBytesPerGroup=2048");
        try
        {
            var capture = fixture.Server.Services.GetRequiredService<RequestCapture>();
            var store = fixture.Server.Services.GetRequiredService<IArtifactStore>();
            var keys = new List<string>();
            for (var batch = 0; batch < 6; batch++)
            {
                foreach (var row in MonitoredServer.Rows(new Random(batch), 10, 0))
                {
                    (await fixture.Client.PostAsync($"/models/{Group}/invocations", new StringContent(MonitoredServer.Csv(row), Encoding.UTF8, "text/csv"))).EnsureSuccessStatusCode();
                }
                await capture.FlushAsync(CancellationToken.None);
                var stored = new List<StoredObject>();
                await foreach (var o in store.ListObjectsAsync($"capture/{Group}/", CancellationToken.None))
                {
                    stored.Add(o);
                }
                keys.Add(stored[^1].Key);
                Assert.True(stored.Sum(o => o.Size) <= 2048 || stored.Count == 1, $"{stored.Sum(o => o.Size)} bytes in {stored.Count} batches");
                Assert.Equal(keys.TakeLast(stored.Count), stored.Select(o => o.Key));
            }
            Assert.True((await CapturedAsync(store)).Count < 60, "older batches were deleted");
        }
        finally
        {
            await fixture.DisposeAsync();
        }
    }
}
