using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Flotilla.Fleet;
using Flotilla.Registry;
using Flotilla.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Server.Tests.Endpoint;

/// <summary>Canary approvals through HTTP on a real server: steps, rollback on errors, resume after a restart.</summary>
public sealed class CanaryRolloutTests
{
    private const string Group = "multimodel-canary";
    private const string FastChecks = "--Flotilla:Fleet:Rollout:CheckInterval=00:00:00.200";

    private static async Task<(ModelPackage V1, ModelPackage V2)> TwoVersionsAsync(RunningServer server)
    {
        var v1 = await DeployedModelServer.RegisterAsync(server.Services, Group, TinyModels.Artifact(1), ApprovalStatus.Approved);
        var fleet = server.Services.GetRequiredService<FleetClient>();
        await Eventually.TrueAsync(() => fleet.TryResolve(Group, out var sha) && sha == v1.Artifact.Sha256, $"{Group} v1 is deployed");
        var v2 = await DeployedModelServer.RegisterAsync(server.Services, Group, TinyModels.Artifact(2), ApprovalStatus.PendingManualApproval);
        return (v1, v2);
    }

    private static Task<HttpResponseMessage> ApproveWithCanaryAsync(RunningServer server, string packageId, object rollout) =>
        server.Client.PatchAsJsonAsync($"/api/registry/packages/{packageId}", new { approvalStatus = "Approved", rollout });

    private static async Task<(HttpStatusCode Status, int? Version)> InvokeAsync(HttpClient client)
    {
        using var response = await client.PostAsync($"/models/{Group}/invocations", new StringContent(TinyModels.Row, Encoding.UTF8, "text/csv"));
        return (response.StatusCode, response.Headers.TryGetValues("X-Flotilla-Model-Version", out var v) ? int.Parse(v.Single(), System.Globalization.CultureInfo.InvariantCulture) : null);
    }

    private static async Task<JsonElement> RolloutAsync(HttpClient client) =>
        await client.GetFromJsonAsync<JsonElement>($"/api/endpoint/groups/{Group}/rollout");

    /// <summary>Invokes the group until the rollout reaches <paramref name="state"/>; every answer is kept.</summary>
    private static async Task<List<(HttpStatusCode Status, int? Version)>> InvokeUntilAsync(HttpClient client, string state, int seconds = 90)
    {
        var answers = new List<(HttpStatusCode, int?)>();
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            for (var i = 0; i < 25; i++)
            {
                answers.Add(await InvokeAsync(client));
            }
            var rollout = await RolloutAsync(client);
            if (rollout.GetProperty("state").GetString() == state)
            {
                return answers;
            }
            Assert.True(DateTime.UtcNow < deadline, $"the rollout did not reach {state} within {seconds} s: {rollout}");
        }
    }

    private static async Task<List<string>> HistoryReasonsAsync(HttpClient client) =>
        [.. (await client.GetFromJsonAsync<JsonElement>($"/api/registry/groups/{Group}/deployments")).EnumerateArray().Select(d => d.GetProperty("reason").GetString()!)];

    [Fact]
    public async Task A_healthy_canary_moves_through_its_steps_to_every_call()
    {
        await using var server = await RunningServer.StartAsync(FastChecks);
        var (_, v2) = await TwoVersionsAsync(server);

        using var approve = await ApproveWithCanaryAsync(server, v2.Id, new { strategy = "canary", steps = new[] { 10, 50, 100 }, bakeSeconds = 1, minCalls = 20 });
        Assert.Equal(HttpStatusCode.OK, approve.StatusCode);
        var answers = await InvokeUntilAsync(server.Client, "Succeeded");
        var after = await InvokeAsync(server.Client);
        var rollout = await RolloutAsync(server.Client);

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Status));
        Assert.Contains(answers, a => a.Version == 1);
        Assert.Contains(answers, a => a.Version == 2);
        Assert.Equal((HttpStatusCode.OK, 2), after);
        Assert.Equal(["Approval", "Canary", "Canary", "Canary"], await HistoryReasonsAsync(server.Client));
        Assert.Equal(2, rollout.GetProperty("stepIndex").GetInt32());
        Assert.Equal(1, rollout.GetProperty("previousVersion").GetInt32());
        Assert.Equal("Healthy", rollout.GetProperty("comparison").GetProperty("verdict").GetString());
    }

    [Fact]
    public async Task A_canary_whose_model_errors_on_5_percent_of_rows_is_rolled_back_and_rejected_while_the_old_version_never_fails()
    {
        await using var server = await RunningServer.StartAsync(FaultInjectingScorer.Register, FastChecks);
        var (v1, v2) = await TwoVersionsAsync(server);
        server.Services.GetRequiredService<FaultInjectingScorer>().Inject(v2.Artifact.Sha256, new FaultInjectingScorer.Fault(20, TimeSpan.Zero));

        using var approve = await ApproveWithCanaryAsync(server, v2.Id, new { strategy = "canary", steps = new[] { 10, 50, 100 }, bakeSeconds = 1, minCalls = 100 });
        Assert.Equal(HttpStatusCode.OK, approve.StatusCode);
        var answers = await InvokeUntilAsync(server.Client, "RolledBack");
        var after = new List<(HttpStatusCode, int?)>();
        for (var i = 0; i < 50; i++)
        {
            after.Add(await InvokeAsync(server.Client));
        }
        var rollout = await RolloutAsync(server.Client);
        var package = await server.Client.GetFromJsonAsync<JsonElement>($"/api/registry/packages/{v2.Id}");
        var endpoint = await server.Client.GetFromJsonAsync<JsonElement>("/api/endpoint");
        var audit = await server.Client.GetFromJsonAsync<JsonElement>($"/api/audit?target={v2.Id}");

        var reason = rollout.GetProperty("reason").GetString()!;
        // One call in 20 fails; the window's edges decide whether it holds 5.0 % or a little less.
        Assert.Matches(@"^canary rolled back at 10 %: error rate [4-5]\.\d % vs 0\.0 %$", reason);
        Assert.Equal("Rejected", package.GetProperty("approvalStatus").GetString());
        Assert.Equal(reason, package.GetProperty("approvalDescription").GetString());
        Assert.Equal("flotilla-rollout", package.GetProperty("statusChangedBy").GetString());
        Assert.All(answers.Where(a => a.Version == 1), a => Assert.Equal(HttpStatusCode.OK, a.Status));
        Assert.All(after, a => Assert.Equal((HttpStatusCode.OK, (int?)1), a));
        var v1Model = endpoint.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("artifactSha256").GetString() == v1.Artifact.Sha256);
        Assert.Equal(0, v1Model.GetProperty("failures").GetInt64());
        Assert.Equal(["Approval", "Canary", "Rollback"], await HistoryReasonsAsync(server.Client));
        await Eventually.TrueAsync(async () => (await server.Client.GetFromJsonAsync<JsonElement>($"/api/audit?target={v2.Id}")).EnumerateArray()
            .Any(e => e.GetProperty("actor").GetString() == "flotilla-rollout"), "the rollback's rejection is in the audit log");
    }

    [Fact]
    public async Task A_server_restarted_mid_bake_resumes_the_rollout_at_its_stored_step()
    {
        var data = Directory.CreateTempSubdirectory("flotilla-canary-").FullName;
        try
        {
            await using (var first = await RunningServer.StartAsync(FastChecks, $"--Flotilla:DataDirectory={data}"))
            {
                var (_, v2) = await TwoVersionsAsync(first);
                using var approve = await ApproveWithCanaryAsync(first, v2.Id, new { strategy = "canary", steps = new[] { 50, 100 }, bakeSeconds = 2, minCalls = 10 });
                Assert.Equal(HttpStatusCode.OK, approve.StatusCode);
                await Eventually.TrueAsync(async () => (await RolloutAsync(first.Client)).GetProperty("state").GetString() == "Running", "the canary starts");
                for (var i = 0; i < 5; i++)
                {
                    await InvokeAsync(first.Client);
                }
            }
            await using var second = await RunningServer.StartAsync(FastChecks, $"--Flotilla:DataDirectory={data}");
            var resumed = await RolloutAsync(second.Client);
            var answers = await InvokeUntilAsync(second.Client, "Succeeded");

            Assert.Equal(("Running", 0), (resumed.GetProperty("state").GetString(), resumed.GetProperty("stepIndex").GetInt32()));
            Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Status));
            Assert.Equal((HttpStatusCode.OK, 2), await InvokeAsync(second.Client));
            Assert.Equal(["Approval", "Canary", "Canary"], await HistoryReasonsAsync(second.Client));
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task A_bad_rollout_is_refused_naming_what_is_wrong_and_the_version_stays_pending()
    {
        await using var server = await RunningServer.StartAsync(FastChecks);
        var (_, v2) = await TwoVersionsAsync(server);
        var v3 = await DeployedModelServer.RegisterAsync(server.Services, "multimodel-canary-alone", TinyModels.Artifact(3), ApprovalStatus.PendingManualApproval);

        async Task<(HttpStatusCode, string)> ApproveAsync(string id, object rollout)
        {
            using var response = await ApproveWithCanaryAsync(server, id, rollout);
            return (response.StatusCode, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!);
        }

        var end = await ApproveAsync(v2.Id, new { strategy = "canary", steps = new[] { 10, 50 } });
        var order = await ApproveAsync(v2.Id, new { strategy = "canary", steps = new[] { 50, 10, 100 } });
        var strategy = await ApproveAsync(v2.Id, new { strategy = "blue-green", steps = new[] { 100 } });
        var alone = await ApproveAsync(v3.Id, new { strategy = "canary", steps = new[] { 10, 100 } });

        Assert.Equal((HttpStatusCode.BadRequest, "rollout.steps must end at 100 (the last is 50): a canary ends serving all calls or rolled back."), end);
        Assert.Equal((HttpStatusCode.BadRequest, "rollout.steps[1] is 10: steps are whole percentages from 1 to 100, each above the one before."), order);
        Assert.Equal((HttpStatusCode.BadRequest, "rollout.strategy 'blue-green' is not known; use \"canary\"."), strategy);
        Assert.Equal(HttpStatusCode.Conflict, alone.Item1);
        Assert.Contains("serves no version yet", alone.Item2);
        var package = await server.Client.GetFromJsonAsync<JsonElement>($"/api/registry/packages/{v2.Id}");
        Assert.Equal("PendingManualApproval", package.GetProperty("approvalStatus").GetString());
    }
}
