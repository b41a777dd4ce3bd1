using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Flotilla.Testing;
using Flotilla.Fleet;
using Flotilla.Registry;
using Flotilla.Server.Tests.Cli;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Server.Tests.Endpoint;

public sealed class DeploymentTests
{
    private const string Group = "multimodel-history";

    [Fact]
    public async Task Approvals_rejections_and_a_manual_pin_are_served_as_the_deployment_history()
    {
        await using var server = await RunningServer.StartAsync();
        var registry = server.Services.GetRequiredService<ModelRegistry>();
        var fleet = server.Services.GetRequiredService<FleetClient>();
        var v1 = await DeployedModelServer.RegisterAsync(server.Services, Group, TinyModels.Artifact(1), ApprovalStatus.Approved);
        var v2 = await DeployedModelServer.RegisterAsync(server.Services, Group, TinyModels.Artifact(2), ApprovalStatus.Approved);
        await DeployedAsync(fleet, v2.Artifact.Sha256);

        await registry.UpdateApprovalStatusAsync(v2.Id, ApprovalStatus.Rejected, "drift", "test", CancellationToken.None);
        await DeployedAsync(fleet, v1.Artifact.Sha256);
        var pin = await server.Client.PutAsJsonAsync($"/api/endpoint/aliases/{Group}", new { version = 2 });
        var missing = await server.Client.PutAsJsonAsync($"/api/endpoint/aliases/{Group}", new { version = 7 });
        var history = await server.Client.GetFromJsonAsync<JsonElement>($"/api/registry/groups/{Group}/deployments");

        Assert.Equal(HttpStatusCode.Conflict, pin.StatusCode);
        Assert.Contains("Rejected", await pin.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        var rows = history.EnumerateArray().Select(r => (r.GetProperty("version").GetInt32(), r.GetProperty("reason").GetString())).ToList();
        Assert.Equal([(2, "Approval"), (1, "Rejection")], rows.Skip(rows.Count - 2));
        var invoked = await server.Client.PostAsync($"/models/{Group}/invocations", new StringContent("7.5,6.0,red"));
        Assert.Equal(HttpStatusCode.OK, invoked.StatusCode);
        Assert.Equal("1", Assert.Single(invoked.Headers.GetValues("X-Flotilla-Model-Version")));
        Assert.Equal(1, (await invoked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("version").GetInt32());
    }

    [Fact]
    public async Task A_pin_to_a_version_whose_model_will_not_load_is_refused_and_served_as_a_failed_deployment()
    {
        await using var server = await RunningServer.StartAsync();
        var v1 = await DeployedModelServer.RegisterAsync(server.Services, Group, TinyModels.Artifact(1), ApprovalStatus.Approved);
        await DeployedAsync(server.Services.GetRequiredService<FleetClient>(), v1.Artifact.Sha256);
        var v2 = await DeployedModelServer.RegisterAsync(server.Services, Group, TinyModels.Artifact(2), ApprovalStatus.PendingManualApproval);
        await StoredArtifacts.ReplaceAsync(server.DataDirectory, v2.Artifact.Sha256, TinyModels.Artifact(3));
        await server.Services.GetRequiredService<ModelRegistry>().UpdateApprovalStatusAsync(v2.Id, ApprovalStatus.Approved, null, "test", CancellationToken.None);

        var failures = await Eventually.ValueAsync(
            () => server.Client.GetFromJsonAsync<JsonElement>($"/api/registry/groups/{Group}/deployments/failures"),
            f => f.GetArrayLength() > 0, "the approval's failed deployment is recorded");
        var pin = await server.Client.PutAsJsonAsync($"/api/endpoint/aliases/{Group}", new { version = 2 });
        failures = await server.Client.GetFromJsonAsync<JsonElement>($"/api/registry/groups/{Group}/deployments/failures");
        var shown = await CliRunner.RunAsync(server, "registry", "show", v2.Id);

        Assert.Equal(HttpStatusCode.Conflict, pin.StatusCode);
        Assert.Contains("was not deployed", await pin.Content.ReadAsStringAsync());
        Assert.Equal(["Approval", "Manual"], failures.EnumerateArray().Select(f => f.GetProperty("reason").GetString()));
        Assert.All(failures.EnumerateArray(), f =>
        {
            Assert.Equal(2, f.GetProperty("version").GetInt32());
            Assert.Contains("SHA-256", f.GetProperty("error").GetString());
        });
        Assert.True(shown.ExitCode == 0, shown.ToString());
        Assert.Contains("Failed deployments:", shown.Output);
        Assert.Contains("Manual", shown.Output);
        Assert.Contains(v2.Id, shown.Output[shown.Output.IndexOf("Failed deployments:", StringComparison.Ordinal)..]);
        var invoked = await server.Client.PostAsync($"/models/{Group}/invocations", new StringContent("7.5,6.0,red"));
        Assert.Equal(HttpStatusCode.OK, invoked.StatusCode);
    }

    private static async Task DeployedAsync(FleetClient fleet, string sha256)
    {
        await Eventually.TrueAsync(() => fleet.TryResolve(Group, out var current) && current == sha256, $"{Group} moves to {sha256}");
    }
}
