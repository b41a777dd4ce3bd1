using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Flotilla.Fleet;
using Flotilla.Registry;
using Flotilla.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Server.Tests.Endpoint;

public sealed class TrafficPolicyTests
{
    private const string Group = "multimodel-split";

    private static async Task<RunningServer> ServerWithTwoVersionsAsync()
    {
        var server = await RunningServer.StartAsync();
        await DeployedModelServer.RegisterAsync(server.Services, Group, TinyModels.Artifact(1), ApprovalStatus.Approved);
        var v2 = await DeployedModelServer.RegisterAsync(server.Services, Group, TinyModels.Artifact(2), ApprovalStatus.Approved);
        var fleet = server.Services.GetRequiredService<FleetClient>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(fleet.TryResolve(Group, out var sha) && sha == v2.Artifact.Sha256))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{Group} v2 was not deployed within 30 s of its approval.");
            await Task.Delay(20);
        }
        return server;
    }

    private static async Task<int> VersionOfAsync(HttpClient client, string? stickyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/models/{Group}/invocations") { Content = new StringContent(TinyModels.Row, Encoding.UTF8, "text/csv") };
        if (stickyKey is not null)
        {
            request.Headers.Add("X-Request-Key", stickyKey);
        }
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return int.Parse(Assert.Single(response.Headers.GetValues("X-Flotilla-Model-Version")), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task A_90_10_split_serves_each_version_its_share_of_10000_calls_and_shows_on_the_endpoint()
    {
        await using var server = await ServerWithTwoVersionsAsync();

        var split = await server.Client.PutAsJsonAsync($"/api/endpoint/aliases/{Group}", new { routes = new[] { new { version = 1, weight = 90 }, new { version = 2, weight = 10 } } });
        Assert.Equal(HttpStatusCode.OK, split.StatusCode);
        var counts = new int[3];
        for (var i = 0; i < 10_000; i++)
        {
            counts[await VersionOfAsync(server.Client)]++;
        }

        Assert.InRange(counts[1], 8_800, 9_200);
        Assert.InRange(counts[2], 800, 1_200);
        var endpoint = await server.Client.GetFromJsonAsync<JsonElement>("/api/endpoint");
        var alias = endpoint.GetProperty("aliases").EnumerateArray().Single(a => a.GetProperty("group").GetString() == Group);
        Assert.Equal(1, alias.GetProperty("version").GetInt32());
        Assert.Equal([(1, 90), (2, 10)], alias.GetProperty("routes").EnumerateArray().Select(r => (r.GetProperty("version").GetInt32(), r.GetProperty("weight").GetInt32())));
        var history = await server.Client.GetFromJsonAsync<JsonElement>($"/api/registry/groups/{Group}/deployments");
        Assert.Equal("Manual", history.EnumerateArray().Last().GetProperty("reason").GetString());
        var models = endpoint.GetProperty("models").EnumerateArray().Where(m => m.GetProperty("groups").EnumerateArray().Any(g => g.GetString() == Group)).ToList();
        Assert.Equal(2, models.Count);
        var metrics = await server.Client.GetStringAsync("/metrics");
        var v2 = alias.GetProperty("routes").EnumerateArray().Single(r => r.GetProperty("version").GetInt32() == 2).GetProperty("artifactSha256").GetString();
        Assert.Contains($"flotilla_alias_route_weight{{group=\"{Group}\",version=\"2\",artifact=\"{v2}\"}} 10", metrics);
    }

    [Fact]
    public async Task A_sticky_header_keeps_each_caller_on_one_version_and_a_pin_ends_the_split()
    {
        await using var server = await ServerWithTwoVersionsAsync();

        var split = await server.Client.PutAsJsonAsync($"/api/endpoint/aliases/{Group}",
            new { routes = new[] { new { version = 1, weight = 50 }, new { version = 2, weight = 50 } }, stickyHeader = "X-Request-Key" });
        Assert.Equal(HttpStatusCode.OK, split.StatusCode);
        var byKey = new Dictionary<string, HashSet<int>>();
        for (var k = 0; k < 40; k++)
        {
            for (var call = 0; call < 5; call++)
            {
                var key = $"customer-{k}";
                (byKey.TryGetValue(key, out var seen) ? seen : byKey[key] = []).Add(await VersionOfAsync(server.Client, key));
            }
        }
        var pin = await server.Client.PutAsJsonAsync($"/api/endpoint/aliases/{Group}", new { version = 2 });
        var afterPin = new HashSet<int>();
        for (var call = 0; call < 20; call++)
        {
            afterPin.Add(await VersionOfAsync(server.Client, "customer-1"));
        }

        Assert.All(byKey.Values, versions => Assert.Single(versions));
        Assert.Equal([1, 2], byKey.Values.Select(v => v.Single()).Distinct().Order());
        Assert.Equal(HttpStatusCode.OK, pin.StatusCode);
        Assert.Equal([2], afterPin);
    }

    [Fact]
    public async Task Bad_splits_are_refused_naming_what_is_wrong_and_the_alias_stays()
    {
        await using var server = await ServerWithTwoVersionsAsync();
        await DeployedModelServer.RegisterAsync(server.Services, Group, TinyModels.Artifact(3), ApprovalStatus.PendingManualApproval);

        async Task<(HttpStatusCode, string)> PutAsync(object body)
        {
            using var response = await server.Client.PutAsJsonAsync($"/api/endpoint/aliases/{Group}", body);
            return (response.StatusCode, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString()!);
        }

        var zero = await PutAsync(new { routes = new[] { new { version = 1, weight = 0 }, new { version = 2, weight = 10 } } });
        var twice = await PutAsync(new { routes = new[] { new { version = 1, weight = 5 }, new { version = 1, weight = 10 } } });
        var both = await PutAsync(new { version = 1, routes = new[] { new { version = 1, weight = 5 } } });
        var pending = await PutAsync(new { routes = new[] { new { version = 2, weight = 90 }, new { version = 3, weight = 10 } } });
        var missing = await PutAsync(new { routes = new[] { new { version = 2, weight = 90 }, new { version = 9, weight = 10 } } });
        var header = await PutAsync(new { routes = new[] { new { version = 1, weight = 5 } }, stickyHeader = "X Key" });
        var shadow = await PutAsync(new { version = 2, shadow = new { version = 3, percent = 0 } });

        Assert.Equal((HttpStatusCode.BadRequest, "routes: the weight of version 1 must be a whole number from 1 to 1,000,000 (was 0)."), zero);
        Assert.Equal(HttpStatusCode.BadRequest, twice.Item1);
        Assert.Contains("version 1 is listed twice", twice.Item2);
        Assert.Equal(HttpStatusCode.BadRequest, both.Item1);
        Assert.Contains("Send either", both.Item2);
        Assert.Equal(HttpStatusCode.Conflict, pending.Item1);
        Assert.Contains("Version 3 of 'multimodel-split' is PendingManualApproval; routes take approved versions only", pending.Item2);
        Assert.Equal(HttpStatusCode.NotFound, missing.Item1);
        Assert.Equal(HttpStatusCode.BadRequest, header.Item1);
        Assert.Contains("is not a header name", header.Item2);
        Assert.Equal(HttpStatusCode.BadRequest, shadow.Item1);
        Assert.Equal("shadow: percent must be a whole number from 1 to 100 (was 0).", shadow.Item2);
        Assert.Equal(2, await VersionOfAsync(server.Client));
        Assert.Equal(2, await VersionOfAsync(server.Client));
    }

    [Fact]
    public async Task A_split_survives_a_restart_of_the_server()
    {
        var data = Directory.CreateTempSubdirectory("flotilla-split-").FullName;
        try
        {
            await using (var first = await RunningServer.StartAsync($"--Flotilla:DataDirectory={data}"))
            {
                await DeployedModelServer.RegisterAsync(first.Services, Group, TinyModels.Artifact(1), ApprovalStatus.Approved);
                var v2 = await DeployedModelServer.RegisterAsync(first.Services, Group, TinyModels.Artifact(2), ApprovalStatus.Approved);
                var fleet = first.Services.GetRequiredService<FleetClient>();
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (!(fleet.TryResolve(Group, out var sha) && sha == v2.Artifact.Sha256))
                {
                    Assert.True(DateTime.UtcNow < deadline, $"{Group} v2 was not deployed within 30 s of its approval.");
                    await Task.Delay(20);
                }
                var split = await first.Client.PutAsJsonAsync($"/api/endpoint/aliases/{Group}", new { routes = new[] { new { version = 1, weight = 1 }, new { version = 2, weight = 1 } } });
                Assert.Equal(HttpStatusCode.OK, split.StatusCode);
            }
            await using var second = await RunningServer.StartAsync($"--Flotilla:DataDirectory={data}");
            var restarted = second.Services.GetRequiredService<FleetClient>();
            var wait = DateTime.UtcNow.AddSeconds(30);
            while (!restarted.TryGetRoutes(Group, out _))
            {
                Assert.True(DateTime.UtcNow < wait, "the split was not read back after the restart");
                await Task.Delay(20);
            }

            var versions = new List<int>();
            for (var i = 0; i < 10; i++)
            {
                versions.Add(await VersionOfAsync(second.Client));
            }

            Assert.Equal(5, versions.Count(v => v == 1));
            Assert.Equal(5, versions.Count(v => v == 2));
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
