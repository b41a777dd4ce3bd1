using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Flotilla.Cli;
using Flotilla.Fleet;
using Flotilla.Registry;
using Flotilla.Server.Tests.Endpoint;
using Flotilla.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Server.Tests.Cli;

/// <summary><c>flotilla alias</c>, <c>flotilla approve --canary</c> and a stack's traffic, against a real server.</summary>
public sealed class RolloutCliTests
{
    private const string Group = "multimodel-clirollout";

    private static async Task<RunningServer> ServerAsync()
    {
        var server = await RunningServer.StartAsync("--Flotilla:Fleet:Rollout:CheckInterval=00:00:00.200");
        var v1 = await DeployedModelServer.RegisterAsync(server.Services, Group, TinyModels.Artifact(1), ApprovalStatus.Approved);
        var fleet = server.Services.GetRequiredService<FleetClient>();
        await Eventually.TrueAsync(() => fleet.TryResolve(Group, out var sha) && sha == v1.Artifact.Sha256, $"{Group} v1 is deployed");
        await DeployedModelServer.RegisterAsync(server.Services, Group, TinyModels.Artifact(2), ApprovalStatus.PendingManualApproval);
        await DeployedModelServer.RegisterAsync(server.Services, Group, TinyModels.Artifact(3), ApprovalStatus.PendingManualApproval);
        return server;
    }

    private static async Task<JsonElement> AliasAsync(RunningServer server) =>
        (await server.Client.GetFromJsonAsync<JsonElement>("/api/endpoint")).GetProperty("aliases").EnumerateArray().Single(a => a.GetProperty("group").GetString() == Group);

    [Fact]
    public async Task Alias_shadows_a_pending_version_and_approve_canary_follows_the_rollout_to_its_end()
    {
        await using var server = await ServerAsync();

        var shadow = await CliRunner.RunAsync(server, "alias", Group, "--shadow", "3:50");
        var bad = await CliRunner.RunAsync(server, "alias", Group, "--route", "1=lots");
        using var traffic = new CancellationTokenSource();
        var callers = Task.Run(async () =>
        {
            while (!traffic.IsCancellationRequested)
            {
                using var _ = await server.Client.PostAsync($"/models/{Group}/invocations", new StringContent(TinyModels.Row, Encoding.UTF8, "text/csv"));
            }
        });
        var approve = await CliRunner.RunAsync(server, "approve", Group, "2", "--canary", "50,100", "--bake", "1s", "--min-calls", "5");
        await traffic.CancelAsync();
        await callers;

        Assert.True(shadow.ExitCode == ExitCodes.Success, shadow.ToString());
        Assert.Contains("version 3 shadows 50 % of them", shadow.Output);
        Assert.Equal(ExitCodes.InvalidInput, bad.ExitCode);
        Assert.Contains("--route '1=lots' is not VERSION=WEIGHT", bad.Error);
        Assert.True(approve.ExitCode == ExitCodes.Success, approve.ToString());
        Assert.Contains($"{Group} v2 (package {Group}-v2) is now Approved, as a canary.", approve.Output);
        Assert.Contains($"{Group} v2: Running, step 1/2 at 50 %", approve.Output);
        Assert.Contains($"{Group} v2: Succeeded, step 2/2 at 100 %", approve.Output);
        Assert.Equal(2, (await AliasAsync(server)).GetProperty("version").GetInt32());
    }

    [Fact]
    public async Task A_stack_declares_a_split_with_a_shadow_and_the_next_plan_has_nothing_to_change()
    {
        await using var server = await ServerAsync();
        await server.Client.PatchAsJsonAsync($"/api/registry/packages/{Group}-v2", new { approvalStatus = "Approved" });
        await Eventually.TrueAsync(async () => (await AliasAsync(server)).GetProperty("version").GetInt32() == 2, "v2 is deployed");
        var stack = Path.Combine(server.DataDirectory, "traffic.yaml");
        await File.WriteAllTextAsync(stack, $$"""
            endpoint:
              traffic:
                {{Group}}: { routes: { 1: 90, 2: 10 }, shadow: { version: 3, percent: 25 } }
            """);

        var plan = await CliRunner.RunAsync(server, "plan", "-f", stack);
        var apply = await CliRunner.RunAsync(server, "apply", "-f", stack);
        var again = await CliRunner.RunAsync(server, "plan", "-f", stack);
        var alias = await AliasAsync(server);

        Assert.True(plan.ExitCode == ExitCodes.Success, plan.ToString());
        Assert.Contains($"~ traffic {Group}", plan.Output);
        Assert.True(apply.ExitCode == ExitCodes.Success, apply.ToString());
        Assert.DoesNotContain("traffic", again.Output);
        Assert.Equal([(1, 90), (2, 10)], alias.GetProperty("routes").EnumerateArray().Select(r => (r.GetProperty("version").GetInt32(), r.GetProperty("weight").GetInt32())));
        Assert.Equal((3, 25), (alias.GetProperty("shadow").GetProperty("version").GetInt32(), alias.GetProperty("shadow").GetProperty("percent").GetInt32()));
    }
}
