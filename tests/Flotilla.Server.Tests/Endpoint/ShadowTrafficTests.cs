using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Flotilla.Fleet;
using Flotilla.Registry;
using Flotilla.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Server.Tests.Endpoint;

public sealed class ShadowTrafficTests
{
    private const string Group = "multimodel-shadow";

    /// <summary>A server serving version 1 of <see cref="Group"/>, with version 2 registered as <paramref name="shadowStatus"/>.</summary>
    private static async Task<(RunningServer Server, ModelPackage V1, ModelPackage V2)> ServerAsync(
        byte[] shadowArtifact, ApprovalStatus shadowStatus = ApprovalStatus.PendingManualApproval, params string[] settings)
    {
        var server = await RunningServer.StartAsync(FaultInjectingScorer.Register, settings);
        var v1 = await DeployedModelServer.RegisterAsync(server.Services, Group, TinyModels.Artifact(1), ApprovalStatus.Approved);
        var fleet = server.Services.GetRequiredService<FleetClient>();
        await Eventually.TrueAsync(() => fleet.TryResolve(Group, out var sha) && sha == v1.Artifact.Sha256, $"{Group} v1 is deployed");
        var v2 = await DeployedModelServer.RegisterAsync(server.Services, Group, shadowArtifact,
            shadowStatus == ApprovalStatus.Rejected ? ApprovalStatus.PendingManualApproval : shadowStatus);
        if (shadowStatus == ApprovalStatus.Rejected)
        {
            v2 = await server.Services.GetRequiredService<ModelRegistry>().UpdateApprovalStatusAsync(v2.Id, ApprovalStatus.Rejected, null, "test", CancellationToken.None);
        }
        return (server, v1, v2);
    }

    private static async Task<(HttpStatusCode Status, string? Version, string Body)> InvokeAsync(HttpClient client)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/models/{Group}/invocations") { Content = new StringContent(TinyModels.Row, Encoding.UTF8, "text/csv") };
        request.Headers.Accept.ParseAdd("text/csv");
        using var response = await client.SendAsync(request);
        return (response.StatusCode, response.Headers.TryGetValues("X-Flotilla-Model-Version", out var v) ? v.Single() : null, await response.Content.ReadAsStringAsync());
    }

    private static async Task<JsonElement?> ShadowOfAsync(HttpClient client, int version)
    {
        var endpoint = await client.GetFromJsonAsync<JsonElement>("/api/endpoint");
        return endpoint.GetProperty("shadows").EnumerateArray()
            .Where(s => s.GetProperty("group").GetString() == Group && s.GetProperty("version").GetInt32() == version)
            .Select(s => (JsonElement?)s).FirstOrDefault();
    }

    [Fact]
    public async Task A_pending_shadow_scores_copies_after_the_answer_never_changes_it_and_its_agreement_is_recorded()
    {
        // The same model labelling every row positive: same probabilities, opposite label on the test row.
        var (server, _, _) = await ServerAsync(TinyModels.Artifact(1, decisionThreshold: 1e-300));
        await using var _server = server;
        var before = await InvokeAsync(server.Client);

        using var put = await server.Client.PutAsJsonAsync($"/api/endpoint/aliases/{Group}", new { version = 1, shadow = new { version = 2, percent = 100 } });
        var answers = new List<(HttpStatusCode, string?, string)>();
        for (var i = 0; i < 200; i++)
        {
            answers.Add(await InvokeAsync(server.Client));
        }
        JsonElement? shadow = null;
        await Eventually.TrueAsync(async () => (shadow = await ShadowOfAsync(server.Client, 2)) is { } s && s.GetProperty("scored").GetInt64() == 200,
            "the 200 shadow copies are scored");
        var metrics = await server.Client.GetStringAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.All(answers, a => Assert.Equal((HttpStatusCode.OK, "1", before.Body), a));
        var stats = shadow!.Value;
        Assert.Equal(200, stats.GetProperty("calls").GetInt64());
        Assert.Equal(0, stats.GetProperty("failed").GetInt64());
        Assert.Equal(200, stats.GetProperty("rows").GetInt64());
        Assert.Equal(0.0, stats.GetProperty("agreement").GetDouble());
        Assert.Equal(0.0, stats.GetProperty("meanProbabilityDifference").GetDouble());
        Assert.Equal(1, stats.GetProperty("primaryVersion").GetInt32());
        Assert.True(stats.GetProperty("p99LatencyMilliseconds").GetDouble() > 0);
        Assert.Contains($"flotilla_shadow_calls_total{{group=\"{Group}\",version=\"2\"}} 200", metrics);
        Assert.Contains($"flotilla_shadow_agreement_ratio{{group=\"{Group}\",version=\"2\"}} 0", metrics);
        var alias = (await server.Client.GetFromJsonAsync<JsonElement>("/api/endpoint")).GetProperty("aliases").EnumerateArray().Single(a => a.GetProperty("group").GetString() == Group);
        Assert.Equal(2, alias.GetProperty("shadow").GetProperty("version").GetInt32());
    }

    [Fact]
    public async Task A_failing_or_slow_shadow_costs_the_caller_nothing_and_its_failures_and_drops_are_counted()
    {
        var (server, _, v2) = await ServerAsync(TinyModels.Artifact(2), ApprovalStatus.PendingManualApproval, "--Flotilla:Fleet:ShadowQueueCapacity=2");
        await using var _server = server;
        // Every shadow call fails, after a wait long enough that copies pile up behind it.
        server.Services.GetRequiredService<FaultInjectingScorer>().Inject(v2.Artifact.Sha256, new FaultInjectingScorer.Fault(1, TimeSpan.FromMilliseconds(50)));

        using var put = await server.Client.PutAsJsonAsync($"/api/endpoint/aliases/{Group}", new { shadow = new { version = 2, percent = 100 } });
        var answers = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => InvokeAsync(server.Client)));
        JsonElement? shadow = null;
        await Eventually.TrueAsync(async () => (shadow = await ShadowOfAsync(server.Client, 2)) is { } s
            && s.GetProperty("failed").GetInt64() == s.GetProperty("calls").GetInt64(), "every copy taken has been tried");

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.All(answers, a => Assert.Equal((HttpStatusCode.OK, "1"), (a.Status, a.Version)));
        var stats = shadow!.Value;
        Assert.True(stats.GetProperty("dropped").GetInt64() > 0, "a full queue drops copies instead of holding callers");
        Assert.Equal(100, stats.GetProperty("calls").GetInt64() + stats.GetProperty("dropped").GetInt64());
        Assert.Equal(0, stats.GetProperty("scored").GetInt64());
    }

    [Fact]
    public async Task A_shadow_must_exist_not_be_rejected_and_not_answer_already()
    {
        var (server, _, _) = await ServerAsync(TinyModels.Artifact(2), ApprovalStatus.Rejected);
        await using var _server = server;

        async Task<(HttpStatusCode, string)> PutAsync(object body)
        {
            using var response = await server.Client.PutAsJsonAsync($"/api/endpoint/aliases/{Group}", body);
            return (response.StatusCode, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!);
        }

        var rejected = await PutAsync(new { version = 1, shadow = new { version = 2, percent = 10 } });
        var itself = await PutAsync(new { version = 1, shadow = new { version = 1, percent = 10 } });
        var missing = await PutAsync(new { shadow = new { version = 7, percent = 10 } });
        var percent = await PutAsync(new { version = 1, shadow = new { version = 2, percent = 101 } });

        Assert.Equal((HttpStatusCode.Conflict, "Version 2 of 'multimodel-shadow' is Rejected; a shadow may be approved or pending approval, not rejected."), rejected);
        Assert.Equal(HttpStatusCode.Conflict, itself.Item1);
        Assert.Contains("already answers calls", itself.Item2);
        Assert.Equal(HttpStatusCode.NotFound, missing.Item1);
        Assert.Equal((HttpStatusCode.BadRequest, "shadow: percent must be a whole number from 1 to 100 (was 101)."), percent);
        Assert.Equal((HttpStatusCode.OK, "1"), ((await InvokeAsync(server.Client)).Status, (await InvokeAsync(server.Client)).Version));
    }
}
