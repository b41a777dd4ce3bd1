using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotilla.Registry;
using Flotilla.Registry.Events;
using Flotilla.Storage.Artifacts;
using Flotilla.Storage.Metadata;
using Flotilla.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Server.Tests.Registry;

/// <summary>The cluster's metadata backend behind the same HTTP door: a server configured with a PostgreSQL connection string.</summary>
public sealed class RegistryOnPostgresTests
{
    [Fact]
    public async Task A_server_given_a_postgres_connection_string_keeps_its_registry_there()
    {
        var database = await (await PostgresServer.GetSharedAsync()).CreateDatabaseAsync("server");
        await using var server = await RunningServer.StartAsync($"--Flotilla:PostgresConnectionString={database}");
        var store = server.Services.GetRequiredService<MetadataStore>();
        var package = await server.Services.GetRequiredService<ModelRegistry>().RegisterAsync(new RegisterModelPackage(
            "multimodel-banknote",
            new ArtifactRef(new string('d', 64), 10, new Uri("file:///tmp/a")),
            JsonSerializer.SerializeToElement(new { auc = 0.99 }),
            JsonSerializer.SerializeToElement(new { RandomState = 42 }),
            new PackageLineage("exec-1", "RegisterModel", "beef")), CancellationToken.None);

        using var response = await server.Client.PatchAsJsonAsync($"/api/registry/packages/{package.Id}", new { approvalStatus = "Approved" });
        var groups = await server.Client.GetFromJsonAsync<JsonArray>("/api/registry/groups");

        Assert.Equal(MetadataBackend.Postgres, store.Backend);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, (int)groups!.Single(g => (string?)g!["name"] == "multimodel-banknote")!["approvedCount"]!);
        // The audit log lives in the same database: the approval is there, with the key that made it.
        var audit = await server.Client.GetFromJsonAsync<JsonArray>($"/api/audit?target={package.Id}");
        var entry = Assert.Single(audit!);
        Assert.Equal(("bootstrap-admin", 200), ((string?)entry!["actor"], (int)entry["status"]!));
        var dispatcher = server.Services.GetRequiredService<OutboxDispatcher>();
        await Eventually.TrueAsync(async () => await dispatcher.CountUndeliveredAsync(CancellationToken.None) == 0, "the outbox is delivered");
    }
}
