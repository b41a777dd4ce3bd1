using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Flotilla.Registry;
using Flotilla.Server.Tests.Endpoint;

namespace Flotilla.Server.Tests.Security;

public sealed class AuditTests
{
    [Fact]
    public async Task Every_state_changing_request_is_audited_with_who_did_it_and_how_it_ended()
    {
        await using var server = await RunningServer.StartAsync();
        var package = await DeployedModelServer.RegisterAsync(server.Services, "multimodel-audited", Flotilla.Testing.TinyModels.Artifact(3), ApprovalStatus.PendingManualApproval);
        using var ana = server.CreateClient(await server.CreateKeyAsync("ana", ["approver"]));
        using var viewer = server.CreateClient(await server.CreateKeyAsync("vic", ["viewer"]));

        using var approved = await ana.PatchAsJsonAsync($"/api/registry/packages/{package.Id}", new { approvalStatus = "Approved" });
        using var refused = await viewer.PatchAsJsonAsync($"/api/registry/packages/{package.Id}", new { approvalStatus = "Rejected" });
        using var read = await viewer.GetAsync($"/api/registry/packages/{package.Id}");

        var entries = await server.Client.GetFromJsonAsync<JsonElement>($"/api/audit?target={package.Id}");
        var list = entries.EnumerateArray().ToList();
        Assert.Equal(2, list.Count);
        var byAna = list.Single(e => e.GetProperty("actor").GetString() == "ana");
        Assert.Equal(200, byAna.GetProperty("status").GetInt32());
        Assert.Equal("PATCH /api/registry/packages/{id}", byAna.GetProperty("action").GetString());
        Assert.Contains("approver", byAna.GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
        Assert.Equal("127.0.0.1", byAna.GetProperty("client").GetString());
        var byVic = list.Single(e => e.GetProperty("actor").GetString() == "vic");
        Assert.Equal(403, byVic.GetProperty("status").GetInt32());
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
    }

    [Fact]
    public async Task Repeated_anonymous_refusals_from_one_address_fold_into_one_entry_with_a_count()
    {
        await using var server = await RunningServer.StartAsync();
        using var anonymous = server.CreateClient(null);
        for (var i = 0; i < 5; i++)
        {
            using var response = await anonymous.PostAsync("/api/datasets", new StringContent("{}", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        var entries = (await server.Client.GetFromJsonAsync<JsonElement>("/api/audit?actor=anonymous")).EnumerateArray().ToList();

        var entry = Assert.Single(entries);
        Assert.Equal(5, entry.GetProperty("repeats").GetInt64());
        Assert.Equal(401, entry.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task The_audit_log_filters_by_actor_and_time_and_reads_are_not_audited()
    {
        await using var server = await RunningServer.StartAsync();
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        await server.CreateKeyAsync("made-by-admin", ["viewer"]);
        await server.Client.GetAsync("/api/datasets");

        var mine = (await server.Client.GetFromJsonAsync<JsonElement>($"/api/audit?actor=bootstrap-admin&since={Uri.EscapeDataString(before.ToString("O"))}")).EnumerateArray().ToList();
        var future = (await server.Client.GetFromJsonAsync<JsonElement>($"/api/audit?since={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddHours(1).ToString("O"))}")).EnumerateArray().ToList();

        var entry = Assert.Single(mine);
        Assert.Equal("POST /api/keys", entry.GetProperty("action").GetString());
        Assert.StartsWith("key_", entry.GetProperty("target").GetString());
        Assert.Empty(future);
    }
}
