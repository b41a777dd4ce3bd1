using System.Net;
using System.Text.Json.Nodes;
using Flotilla.Cluster.Tests.Harness;
using Xunit.Abstractions;
using static Flotilla.Cluster.Tests.Pipelines.PipelineCluster;

namespace Flotilla.Cluster.Tests.Pipelines;

/// <summary>Live progress on every machine: an execution's events reach the event streams of servers that do not run it.</summary>
[Collection(PipelineClusterCollection.Name)]
public sealed class ClusterEventsTests(PipelineCluster cluster, ITestOutputHelper output)
{
    // Trials B must stream beyond those A had kept when B's stream began: far more than a replay of the store can hold.
    private const int Beyond = 100;

    [ClusterFact]
    public async Task The_event_stream_of_one_machine_shows_the_trials_of_an_execution_another_runs()
    {
        await cluster.ReadyAsync();
        await cluster.UploadAsync(0, "bc-events");
        // More trials than it will run: it is stopped once B has streamed enough, so its length depends on nothing.
        var id = await cluster.StartAsync(0, Quick("bc-events", trials: 10_000, parallel: 1));
        using var b = cluster.Harness.Client(1);
        using var reading = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        using var response = await b.GetAsync($"/api/executions/{id}/events", HttpCompletionOption.ResponseHeadersRead, reading.Token);
        using var stream = new StreamReader(await response.Content.ReadAsStreamAsync(reading.Token));

        // B's stream opens with a snapshot; what A had kept by then is replayed from the store, the rest must come from A.
        var first = await NextAsync(stream, reading.Token);
        var keptWhenOpened = (await cluster.TrialsAsync(1, id)).Count;
        var streamed = new List<JsonObject>();
        while (streamed.Count == 0 || streamed[^1]["number"]!.GetValue<int>() < keptWhenOpened + Beyond)
        {
            var (type, data) = await NextAsync(stream, reading.Token)
                ?? throw new InvalidOperationException($"B's stream ended after {streamed.Count} trials:\n{cluster.Harness.Logs()}");
            if (type == "trial")
            {
                streamed.Add(data["trial"]!.AsObject());
            }
        }
        using (var stop = await b.PostAsync($"/api/executions/{id}/stop", new StringContent("{}", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Accepted, stop.StatusCode);
        }
        var rest = new List<(string Type, JsonObject Data)>();
        while (await NextAsync(stream, reading.Token) is { } e)
        {
            rest.Add(e);
        }
        var stored = await cluster.TrialsAsync(1, id);
        output.WriteLine($"A had kept {keptWhenOpened} trials when B's stream opened; B streamed {streamed.Count + rest.Count(e => e.Type == "trial")} of the {stored.Count} A kept before it stopped");

        Assert.Equal("snapshot", first?.Type);
        Assert.Equal("Stopped", rest[^1].Data["status"]?.GetValue<string>());
        streamed.AddRange(rest.Where(e => e.Type == "trial").Select(e => e.Data["trial"]!.AsObject()));
        // Every trial once, in order, as A kept it — up to the end, where trials A kept as it stopped may land after
        // the final snapshot (which B's stream ends with, read from the store).
        Assert.Equal(Enumerable.Range(0, streamed.Count), streamed.Select(t => t["number"]!.GetValue<int>()));
        Assert.Equal(stored.Take(streamed.Count).Select(Essence), streamed.Select(Essence));
        Assert.InRange(streamed.Count, keptWhenOpened + Beyond + 1, stored.Count);
    }

    /// <summary>The next server-sent event (its name and data), or null at the end of the stream.</summary>
    private static async Task<(string Type, JsonObject Data)?> NextAsync(StreamReader stream, CancellationToken cancellationToken)
    {
        string? type = null;
        JsonObject? data = null;
        while (await stream.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0 && type is not null && data is not null)
            {
                return (type, data);
            }
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                type = line["event: ".Length..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data = JsonNode.Parse(line["data: ".Length..])!.AsObject();
            }
        }
        return null;
    }
}
