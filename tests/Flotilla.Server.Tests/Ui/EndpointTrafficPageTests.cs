using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Flotilla.Fleet;
using Flotilla.Registry;
using Flotilla.Server.Tests.Endpoint;
using Flotilla.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Flotilla.Server.Tests.Ui;

/// <summary>The endpoint page's traffic section: a rolled-back canary with its reason, and a shadow's comparison.</summary>
public sealed class EndpointTrafficPageTests(BrowserSession browser) : IClassFixture<BrowserSession>
{
    private const string Group = "multimodel-ui-traffic";

    [Fact]
    public async Task The_endpoint_page_shows_a_rolled_back_canary_with_its_reason_and_a_shadows_agreement()
    {
        await using var server = await RunningServer.StartAsync(FaultInjectingScorer.Register, "--Flotilla:Fleet:Rollout:CheckInterval=00:00:00.200");
        var v1 = await DeployedModelServer.RegisterAsync(server.Services, Group, TinyModels.Artifact(1), ApprovalStatus.Approved);
        var fleet = server.Services.GetRequiredService<FleetClient>();
        await Eventually.TrueAsync(() => fleet.TryResolve(Group, out var sha) && sha == v1.Artifact.Sha256, $"{Group} v1 is deployed");
        var v2 = await DeployedModelServer.RegisterAsync(server.Services, Group, TinyModels.Artifact(2), ApprovalStatus.PendingManualApproval);
        await DeployedModelServer.RegisterAsync(server.Services, Group, TinyModels.Artifact(3), ApprovalStatus.PendingManualApproval);
        server.Services.GetRequiredService<FaultInjectingScorer>().Inject(v2.Artifact.Sha256, new FaultInjectingScorer.Fault(10, TimeSpan.Zero));

        using var approve = await server.Client.PatchAsJsonAsync($"/api/registry/packages/{v2.Id}",
            new { approvalStatus = "Approved", rollout = new { strategy = "canary", steps = new[] { 10, 100 }, bakeSeconds = 1, minCalls = 30 } });
        Assert.Equal(HttpStatusCode.OK, approve.StatusCode);
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while ((await server.Client.GetFromJsonAsync<JsonElement>($"/api/endpoint/groups/{Group}/rollout")).GetProperty("state").GetString() != "RolledBack")
        {
            Assert.True(DateTime.UtcNow < deadline, "the canary was not rolled back within 90 s");
            for (var i = 0; i < 25; i++)
            {
                using var _ = await server.Client.PostAsync($"/models/{Group}/invocations", new StringContent(TinyModels.Row, Encoding.UTF8, "text/csv"));
            }
        }
        using var shadow = await server.Client.PutAsJsonAsync($"/api/endpoint/aliases/{Group}", new { shadow = new { version = 3, percent = 100 } });
        Assert.Equal(HttpStatusCode.OK, shadow.StatusCode);
        for (var i = 0; i < 10; i++)
        {
            using var _ = await server.Client.PostAsync($"/models/{Group}/invocations", new StringContent(TinyModels.Row, Encoding.UTF8, "text/csv"));
        }

        var (page, errors) = await browser.OpenAsync(server);
        await page.GotoAsync("/#/endpoint");
        var section = page.GetByTestId($"traffic-{Group}");
        await Assertions.Expect(section.GetByTestId("rollout")).ToContainTextAsync("Canary v2 · RolledBack");
        await Assertions.Expect(section.GetByTestId("rollout-reason")).ToContainTextAsync("canary rolled back at 10 %: error rate");
        await Assertions.Expect(section.GetByTestId("rollout")).ToContainTextAsync("v1 (previous)");
        await Assertions.Expect(section.GetByTestId("shadow")).ToContainTextAsync("Shadow v3 · 100 % of calls");
        await Assertions.Expect(section.GetByTestId("shadow").Locator("tbody td").First).ToHaveTextAsync("10", new() { Timeout = 10_000 });
        await BrowserSession.ScreenshotAsync(page, "endpoint-traffic");
        Assert.Empty(errors);
    }
}
