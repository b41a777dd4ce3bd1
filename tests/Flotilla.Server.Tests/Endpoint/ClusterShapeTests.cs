using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Flotilla.Fleet;
using Flotilla.Registry;
using Flotilla.Storage.Tests;
using Flotilla.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Server.Tests.Endpoint;

public sealed class ClusterShapeTests(S3rverServer s3) : IClassFixture<S3rverServer>
{
    private const string Group = "multimodel-cluster";

    [Fact]
    public async Task Two_servers_on_one_postgres_database_form_one_fleet_that_serves_a_model_from_either_door()
    {
        var postgres = await (await PostgresServer.GetSharedAsync()).CreateDatabaseAsync("cluster");
        var shared = Directory.CreateTempSubdirectory("flotilla-cluster-").FullName;
        var clusterId = $"test-{Guid.NewGuid():N}";
        // One prefix for both servers: they must read each other's artifacts.
        var s3Settings = S3Settings();
        string[] Settings() =>
        [
            "--Flotilla:Shape=Cluster", $"--Flotilla:PostgresConnectionString={postgres}", $"--Flotilla:DataDirectory={shared}",
            $"--Flotilla:Fleet:ClusterId={clusterId}", $"--Flotilla:Fleet:SiloPort={FreePort()}", "--Flotilla:Fleet:GatewayPort=0",
            "--Flotilla:Fleet:AdvertisedAddress=127.0.0.1", .. s3Settings,
        ];
        await using var first = await RunningServer.StartAsync(Settings());
        await using var second = await RunningServer.StartAsync(Settings());

        await Eventually.TrueAsync(async () =>
            (await first.Client.GetFromJsonAsync<JsonElement>("/api/endpoint")).GetProperty("instances").EnumerateArray()
                .Count(i => i.GetProperty("error").ValueKind == JsonValueKind.Null) == 2,
            "the first server sees both instances answering");
        var package = await DeployedModelServer.RegisterAsync(first.Services, Group, TinyModels.Artifact(5), ApprovalStatus.Approved);
        await Eventually.TrueAsync(() => Task.FromResult(
            first.Services.GetRequiredService<FleetClient>().TryResolve(Group, out var a) && a == package.Artifact.Sha256 &&
            second.Services.GetRequiredService<FleetClient>().TryResolve(Group, out var b) && b == package.Artifact.Sha256),
            "both servers resolve the group to the approved version");

        foreach (var server in new[] { first, second, first, second })
        {
            var response = await server.Client.PostAsync($"/models/{Group}/invocations", new StringContent("7.5,6.0,red"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        var endpoint = await second.Client.GetFromJsonAsync<JsonElement>("/api/endpoint");
        var holders = endpoint.GetProperty("instances").EnumerateArray()
            .Where(i => i.GetProperty("models").EnumerateArray().Any(m => m.GetProperty("artifactSha256").GetString() == package.Artifact.Sha256))
            .ToList();
        // The deployer loads the model on its home and a standby on the other silo, so a failover waits for no load.
        Assert.Equal(2, holders.Count);
        var model = endpoint.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("artifactSha256").GetString() == package.Artifact.Sha256);
        Assert.Equal(2, model.GetProperty("loads").GetInt64());
        Assert.Equal(2, model.GetProperty("copies").GetInt32());
        Assert.Contains(model.GetProperty("home").GetString(), holders.Select(h => h.GetProperty("silo").GetString()));
        Assert.Equal(4, model.GetProperty("invocations").GetInt64());
    }

    [Fact]
    public async Task The_autoscalers_latest_decision_is_shown_by_the_endpoint_view_and_the_metrics()
    {
        var postgres = await (await PostgresServer.GetSharedAsync()).CreateDatabaseAsync("autoscaler");
        // MaxInstances 1: the loop runs and decides, but never has a reason to start another process.
        await using var server = await RunningServer.StartAsync([
            "--Flotilla:Shape=Cluster", $"--Flotilla:PostgresConnectionString={postgres}",
            $"--Flotilla:DataDirectory={Directory.CreateTempSubdirectory("flotilla-autoscaler-").FullName}",
            $"--Flotilla:Fleet:ClusterId=test-{Guid.NewGuid():N}", $"--Flotilla:Fleet:SiloPort={FreePort()}", "--Flotilla:Fleet:GatewayPort=0",
            "--Flotilla:Fleet:AdvertisedAddress=127.0.0.1", .. S3Settings(),
            "--Flotilla:Fleet:Autoscaler:Enabled=true", "--Flotilla:Fleet:Autoscaler:Interval=00:00:00.2",
            "--Flotilla:Fleet:Autoscaler:MinInstances=1", "--Flotilla:Fleet:Autoscaler:MaxInstances=1"]);

        JsonElement autoscaler = default;
        await Eventually.TrueAsync(async () =>
        {
            autoscaler = (await server.Client.GetFromJsonAsync<JsonElement>("/api/endpoint")).GetProperty("autoscaler");
            return autoscaler.ValueKind == JsonValueKind.Object;
        }, "the endpoint view carries an autoscaler decision");

        Assert.Equal(1, autoscaler.GetProperty("current").GetInt32());
        Assert.Equal(1, autoscaler.GetProperty("desired").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(autoscaler.GetProperty("reason").GetString()));
        var metrics = await server.Client.GetStringAsync("/metrics");
        Assert.Contains("flotilla_autoscaler_current_instances 1", metrics);
    }

    // The cluster shape keeps artifacts in a bucket every server reaches; a fresh prefix keeps tests apart in it.
    private string[] S3Settings() =>
    [
        $"--Flotilla:S3:Bucket={S3rverServer.Bucket}", $"--Flotilla:S3:ServiceUrl={s3.ServiceUrl}", $"--Flotilla:S3:Prefix=t{Guid.NewGuid():N}/",
        "--Flotilla:S3:AccessKey=S3RVER", "--Flotilla:S3:SecretKey=S3RVER",
    ];

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
