using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Flotilla.Learning.Evaluation;
using Flotilla.Server.Monitoring;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Server.Tests.Monitoring;

public sealed class FeedbackTests(MonitoredServer fixture) : IClassFixture<MonitoredServer>
{
    private const string Group = MonitoredServer.Group;
    private readonly HttpClient _client = fixture.Client;

    private async Task<string> InvokeAsync(string csvRow)
    {
        using var response = await _client.PostAsync($"/models/{Group}/invocations", new StringContent(csvRow, Encoding.UTF8, "text/csv"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response.Headers.GetValues("X-Flotilla-Request-Id").Single();
    }

    [Fact]
    public async Task Feedback_joined_to_answered_calls_gives_the_evaluators_auc_on_the_same_rows()
    {
        var rows = MonitoredServer.Rows(new Random(21), 150, widthShift: 0);
        var ids = new string[rows.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, rows.Count), new ParallelOptions { MaxDegreeOfParallelism = 4 },
            async (i, _) => ids[i] = await InvokeAsync(MonitoredServer.Csv(rows[i])));

        // Half as JSON, half as CSV; one unknown id.
        var json = JsonSerializer.Serialize(ids.Take(75).Select((id, i) => new { requestId = id, label = rows[i].Label }).Append(new { requestId = "never-seen", label = "big" }));
        var first = await (await _client.PostAsync($"/models/{Group}/feedback", new StringContent(json, Encoding.UTF8, "application/json")))
            .Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(76, first.GetProperty("received").GetInt32());
        Assert.Equal(75, first.GetProperty("joined").GetInt32());
        Assert.Equal(["never-seen"], first.GetProperty("unmatchedRequestIds").EnumerateArray().Select(e => e.GetString()));
        var csv = "requestId,label\n" + string.Concat(Enumerable.Range(75, 75).Select(i => $"{ids[i]},{rows[i].Label}\n"));
        var second = await _client.PostAsync($"/models/{Group}/feedback", new StringContent(csv, Encoding.UTF8, "text/csv"));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(75, (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("joined").GetInt32());

        // Sent again, the same labels count once.
        var again = await (await _client.PostAsync($"/models/{Group}/feedback", new StringContent(csv, Encoding.UTF8, "text/csv"))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(0, again.GetProperty("joined").GetInt32());

        var live = (await _client.GetFromJsonAsync<JsonElement>($"/api/endpoint/groups/{Group}/live-metrics"))[0];
        var offline = Evaluator.Evaluate(fixture.Model, MonitoredServer.Table(rows));
        Assert.Equal(1, live.GetProperty("version").GetInt32());
        Assert.Equal(150, live.GetProperty("labelled").GetInt32());
        Assert.Equal(offline.Auc, live.GetProperty("auc").GetDouble(), 12);
        Assert.Equal(offline.Accuracy, live.GetProperty("accuracy").GetDouble(), 12);
        Assert.InRange(live.GetProperty("brier").GetDouble(), 0, 0.25);
        Assert.True(live.GetProperty("calls").GetInt64() >= 150);
        Assert.Equal(150, live.GetProperty("reliability").EnumerateArray().Sum(b => b.GetProperty("count").GetInt32()));
    }

    [Fact]
    public async Task Labels_for_predictions_the_silos_forgot_or_lost_in_a_restart_are_joined_to_captured_calls_once_each()
    {
        string[] settings = ["--Flotilla:Endpoint:Monitoring:RecentPredictions=16", "--Flotilla:Endpoint:Capture:Percent=100", "--Flotilla:Endpoint:Capture:FlushInterval=01:00:00"];
        var server = await MonitoredServer.StartAsync(settings);
        RunningServer? restarted = null;
        try
        {
            var rows = MonitoredServer.Rows(new Random(41), 60, widthShift: 0);
            var ids = new List<string>();
            foreach (var row in rows)
            {
                using var response = await server.Client.PostAsync($"/models/{Group}/invocations", new StringContent(MonitoredServer.Csv(row), Encoding.UTF8, "text/csv"));
                ids.Add(response.Headers.GetValues("X-Flotilla-Request-Id").Single());
            }
            await server.Server.Services.GetRequiredService<RequestCapture>().FlushAsync(CancellationToken.None);
            StringContent Labels(Range range) => new(
                JsonSerializer.Serialize(ids.Take(range).Select((id, i) => new { requestId = id, label = rows[range.Start.Value + i].Label })), Encoding.UTF8, "application/json");

            // The silo remembers the last 16 calls (44–59); 40–43 only the capture has.
            var recent = await (await server.Client.PostAsync($"/models/{Group}/feedback", Labels(40..60))).Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(20, recent.GetProperty("joined").GetInt32());
            var repeated = await (await server.Client.PostAsync($"/models/{Group}/feedback", Labels(40..60))).Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(0, repeated.GetProperty("joined").GetInt32());

            // A restart empties the silo's memory; the capture and what was joined from it are in the store.
            await server.Server.StopAsync();
            restarted = await RunningServer.StartAsync([.. settings, $"--Flotilla:DataDirectory={server.Server.DataDirectory}"]);
            var all = await (await restarted.Client.PostAsync($"/models/{Group}/feedback", Labels(0..60))).Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(40, all.GetProperty("joined").GetInt32());
            Assert.Equal(20, all.GetProperty("unmatched").GetInt32());

            // Joined from the capture and kept: rows 0–43 (44–59 were joined in the silo's memory, which the restart lost).
            var live = (await restarted.Client.GetFromJsonAsync<JsonElement>($"/api/endpoint/groups/{Group}/live-metrics"))[0];
            var offline = Evaluator.Evaluate(server.Model, MonitoredServer.Table(rows.Take(44)));
            Assert.Equal(44, live.GetProperty("labelled").GetInt32());
            Assert.Equal(offline.Auc, live.GetProperty("auc").GetDouble(), 12);
            Assert.Equal(offline.Accuracy, live.GetProperty("accuracy").GetDouble(), 12);
        }
        finally
        {
            if (restarted is not null)
            {
                await restarted.DisposeAsync();
            }
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Bad_feedback_is_refused_naming_the_item_and_a_label_the_model_does_not_know_is_named()
    {
        var bad = await _client.PostAsync($"/models/{Group}/feedback", new StringContent("""[{"requestId": "a", "label": "big"}, {"label": "big"}]""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("item 1, field 'requestId'", (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());

        var csv = await _client.PostAsync($"/models/{Group}/feedback", new StringContent("id,label\nx,big\n", Encoding.UTF8, "text/csv"));
        Assert.Equal(HttpStatusCode.BadRequest, csv.StatusCode);
        Assert.Contains("line 1", (await csv.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());

        var id = await InvokeAsync("1.0,2.0,red");
        var unknown = await (await _client.PostAsync($"/models/{Group}/feedback", new StringContent($$"""[{"requestId": "{{id}}", "label": "huge"}]""", Encoding.UTF8, "application/json")))
            .Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(0, unknown.GetProperty("joined").GetInt32());
        Assert.Contains("'huge' is not one of the model's labels", unknown.GetProperty("invalidLabels")[0].GetString());

        Assert.Equal(HttpStatusCode.NotFound, (await _client.PostAsync("/models/multimodel-nothing/feedback", new StringContent("[]", Encoding.UTF8, "application/json"))).StatusCode);
    }

    [Fact]
    public async Task An_invoker_key_limited_to_other_groups_may_not_send_feedback_and_a_viewer_may_not_either()
    {
        var scoped = fixture.Server.CreateClient(await fixture.Server.CreateKeyAsync("other-invoker", ["invoker"], ["multimodel-other"]));
        Assert.Equal(HttpStatusCode.Forbidden, (await scoped.PostAsync($"/models/{Group}/feedback", new StringContent("[]", Encoding.UTF8, "application/json"))).StatusCode);
        var viewer = fixture.Server.CreateClient(await fixture.Server.CreateKeyAsync("feedback-viewer", ["viewer"]));
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsync($"/models/{Group}/feedback", new StringContent("[]", Encoding.UTF8, "application/json"))).StatusCode);
        var allowed = fixture.Server.CreateClient(await fixture.Server.CreateKeyAsync("watched-invoker", ["invoker"], [Group]));
        Assert.Equal(HttpStatusCode.OK, (await allowed.PostAsync($"/models/{Group}/feedback", new StringContent("[]", Encoding.UTF8, "application/json"))).StatusCode);
    }
}
