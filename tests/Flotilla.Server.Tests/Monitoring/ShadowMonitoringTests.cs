using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Flotilla.Registry;
using Flotilla.Storage.Artifacts;
using Flotilla.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Server.Tests.Monitoring;

public sealed class ShadowMonitoringTests
{
    private const string Group = MonitoredServer.Group;

    [Fact]
    public async Task A_shadow_of_the_served_model_leaves_its_drift_window_and_feedback_to_the_answered_calls()
    {
        var fixture = await MonitoredServer.StartAsync();
        await using var server = fixture.Server;
        var client = fixture.Client;
        // Version 2 is the very artifact version 1 serves (registered again, pending): a watched copy would land in
        // the same drift window and remember a second prediction under the caller's request id.
        var reference = await server.Services.GetRequiredService<IArtifactStore>().PutAsync(TinyModels.Artifact(1), CancellationToken.None);
        Assert.Equal(fixture.Package.Artifact.Sha256, reference.Sha256);
        using var empty = JsonDocument.Parse("{}");
        await server.Services.GetRequiredService<ModelRegistry>().RegisterAsync(
            new RegisterModelPackage(Group, reference, fixture.Package.EvaluationReport, empty.RootElement.Clone(),
                new PackageLineage(null, null, null), ApprovalStatus.PendingManualApproval),
            CancellationToken.None);
        var rows = MonitoredServer.Rows(new Random(31), 100, widthShift: 0);

        async Task<string> InvokeAsync(string row)
        {
            using var response = await client.PostAsync($"/models/{Group}/invocations", new StringContent(row, Encoding.UTF8, "text/csv"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return response.Headers.GetValues("X-Flotilla-Request-Id").Single();
        }

        async Task<int> WindowRowsAsync() =>
            (await client.GetFromJsonAsync<JsonElement>($"/api/endpoint/groups/{Group}/drift")).GetProperty("window").GetProperty("rows").GetInt32();

        // Calls made while the profile is being read are not counted: start from a window that counts.
        await Eventually.TrueAsync(async () => { await InvokeAsync(MonitoredServer.Csv(rows[0])); return await WindowRowsAsync() > 0; },
            "the drift window counts calls once the profile is read");
        using (var put = await client.PutAsJsonAsync($"/api/endpoint/aliases/{Group}", new { version = 1, shadow = new { version = 2, percent = 100 } }))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }
        var before = await WindowRowsAsync();
        var ids = new List<string>();
        foreach (var row in rows)
        {
            ids.Add(await InvokeAsync(MonitoredServer.Csv(row)));
        }
        await Eventually.TrueAsync(async () =>
            (await client.GetFromJsonAsync<JsonElement>("/api/endpoint")).GetProperty("shadows").EnumerateArray()
                .Any(s => s.GetProperty("group").GetString() == Group && s.GetProperty("scored").GetInt64() == rows.Count),
            "every shadow copy is scored");
        var feedback = JsonSerializer.Serialize(ids.Select((id, i) => new { requestId = id, label = rows[i].Label }));
        var joined = await (await client.PostAsync($"/models/{Group}/feedback", new StringContent(feedback, Encoding.UTF8, "application/json")))
            .Content.ReadFromJsonAsync<JsonElement>();
        var live = (await client.GetFromJsonAsync<JsonElement>($"/api/endpoint/groups/{Group}/live-metrics")).EnumerateArray()
            .ToDictionary(m => m.GetProperty("version").GetInt32(), m => m.GetProperty("labelled").GetInt32());

        Assert.Equal(before + rows.Count, await WindowRowsAsync());
        Assert.Equal(rows.Count, joined.GetProperty("joined").GetInt32());
        Assert.Equal(rows.Count, live[1]);
        Assert.Equal(0, live.GetValueOrDefault(2));
    }
}
