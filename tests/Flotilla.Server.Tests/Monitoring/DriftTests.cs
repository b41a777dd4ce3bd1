using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Flotilla.Testing;

namespace Flotilla.Server.Tests.Monitoring;

public sealed class DriftTests(MonitoredServer fixture) : IClassFixture<MonitoredServer>
{
    private const string Group = MonitoredServer.Group;
    private readonly HttpClient _client = fixture.Client;

    [Fact]
    public async Task A_shifted_feature_raises_its_psi_above_alert_while_the_others_stay_below_warn_and_the_change_is_announced()
    {
        var rows = MonitoredServer.Rows(new Random(5), 400, widthShift: 8);
        await Parallel.ForEachAsync(rows, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (row, ct) =>
        {
            using var response = await _client.PostAsync($"/models/{Group}/invocations",
                new StringContent(MonitoredServer.Csv(row), Encoding.UTF8, "text/csv"), ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        });

        var drift = await _client.GetFromJsonAsync<JsonElement>($"/api/endpoint/groups/{Group}/drift");
        var psi = drift.GetProperty("features").EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!, f => f.GetProperty("psi").GetDouble());
        Assert.True(psi["width"] > 0.25, $"width PSI {psi["width"]}");
        Assert.True(psi["height"] < 0.1, $"height PSI {psi["height"]}");
        Assert.True(psi["color"] < 0.1, $"color PSI {psi["color"]}");
        Assert.Equal("Alert", drift.GetProperty("state").GetString());
        Assert.Equal("width", drift.GetProperty("topDrifted")[0].GetString());
        // The first calls after a deployment are scored while the profile is read from the registry, so they are not counted.
        Assert.InRange(drift.GetProperty("window").GetProperty("rows").GetInt32(), 380, 400);
        var width = drift.GetProperty("features").EnumerateArray().Single(f => f.GetProperty("name").GetString() == "width");
        Assert.Equal(width.GetProperty("bins").GetArrayLength(), width.GetProperty("training").GetArrayLength());
        Assert.Equal(width.GetProperty("bins").GetArrayLength(), width.GetProperty("live").GetArrayLength());

        var events = await Eventually.ValueAsync(
            () => _client.GetFromJsonAsync<JsonElement>($"/api/endpoint/groups/{Group}/drift/events"),
            e => e.GetArrayLength() > 0, "the drift watch announces the change of state");
        Assert.Equal("Ok", events[0].GetProperty("oldState").GetString());
        Assert.Equal("Alert", events[0].GetProperty("newState").GetString());
        Assert.Equal("width", events[0].GetProperty("feature").GetString());

        var metrics = await Eventually.ValueAsync(() => _client.GetStringAsync("/metrics"),
            m => m.Contains($"flotilla_feature_psi{{group=\"{Group}\",feature=\"width\"}}", StringComparison.Ordinal), "/metrics carries the PSI gauges");
        Assert.Contains($"flotilla_drift_state{{group=\"{Group}\"}} 3", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Drift_of_a_group_that_is_not_deployed_is_404_and_a_viewer_may_read_it()
    {
        var response = await _client.GetAsync("/api/endpoint/groups/multimodel-nothing/drift");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);

        var viewer = fixture.Server.CreateClient(await fixture.Server.CreateKeyAsync("drift-viewer", ["viewer"]));
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync($"/api/endpoint/groups/{Group}/drift")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await fixture.Server.CreateClient(null).GetAsync($"/api/endpoint/groups/{Group}/drift")).StatusCode);
    }
}
