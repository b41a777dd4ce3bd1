using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotilla.Registry;
using Flotilla.Registry.Events;
using Flotilla.Storage.Artifacts;
using Microsoft.Extensions.DependencyInjection;
using Flotilla.Testing;

namespace Flotilla.Server.Tests.Registry;

/// <summary>/api/registry on a real server; packages are seeded through the registry as a pipeline's Register step would.</summary>
public sealed class RegistryApiTests(RunningServer server) : IClassFixture<RunningServer>
{
    private ModelRegistry Registry => server.Services.GetRequiredService<ModelRegistry>();

    [Fact]
    public async Task Groups_and_their_packages_are_listed_newest_first()
    {
        var group = NewGroup();
        await SeedAsync(group, 3);

        var groups = await server.Client.GetFromJsonAsync<JsonArray>("/api/registry/groups");
        var packages = await server.Client.GetFromJsonAsync<JsonArray>($"/api/registry/groups/{group}/packages");

        var listed = groups!.Single(g => (string?)g!["name"] == group)!;
        Assert.Equal(3, (int)listed["latestVersion"]!);
        Assert.Equal([3, 2, 1], packages!.Select(p => (int)p!["version"]!));
        Assert.Equal("PendingManualApproval", (string?)packages![0]!["approvalStatus"]);
        Assert.Equal(0.93, (double)packages![0]!["metrics"]!["auc"]!);
    }

    [Fact]
    public async Task Packages_are_filtered_by_status_and_sorted_as_asked()
    {
        var group = NewGroup();
        var ids = await SeedAsync(group, 3);
        await Registry.UpdateApprovalStatusAsync(ids[0], ApprovalStatus.Approved, null, "ana", CancellationToken.None);
        await Registry.UpdateApprovalStatusAsync(ids[2], ApprovalStatus.Approved, null, "ana", CancellationToken.None);

        // The order by time itself is covered with a fake clock in the store suite; here the query reaches it.
        var byVersion = await server.Client.GetFromJsonAsync<JsonArray>($"/api/registry/groups/{group}/packages?status=approved&sort=version");
        var byTime = await server.Client.GetFromJsonAsync<JsonArray>($"/api/registry/groups/{group}/packages?status=Approved&sort=time");
        var pending = await server.Client.GetFromJsonAsync<JsonArray>($"/api/registry/groups/{group}/packages?status=PendingManualApproval");

        Assert.Equal([ids[2], ids[0]], byVersion!.Select(p => (string?)p!["id"]));
        Assert.Equal([ids[0], ids[2]], byTime!.Select(p => (string?)p!["id"]).Order());
        Assert.Equal([ids[1]], pending!.Select(p => (string?)p!["id"]));
    }

    [Fact]
    public async Task An_unknown_sort_order_is_a_400_naming_the_choices()
    {
        var group = NewGroup();
        await SeedAsync(group, 1);

        using var response = await server.Client.GetAsync($"/api/registry/groups/{group}/packages?sort=size");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("version, time", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["detail"]);
    }

    [Fact]
    public async Task A_package_is_shown_with_its_evaluation_report_and_lineage()
    {
        var id = (await SeedAsync(NewGroup(), 1))[0];

        var package = await server.Client.GetFromJsonAsync<JsonObject>($"/api/registry/packages/{id}");

        Assert.Equal(0.93, (double)package!["evaluationReport"]!["auc"]!);
        Assert.Equal("[[50,3],[2,60]]", package["evaluationReport"]!["confusionMatrix"]!.ToJsonString());
        Assert.Equal("exec-42", (string?)package["lineage"]!["executionId"]);
        Assert.Equal(new string('c', 64), (string?)package["artifact"]!["sha256"]);
    }

    [Fact]
    public async Task Approving_through_the_api_records_the_authenticated_caller_not_a_header_and_emits_the_event()
    {
        var id = (await SeedAsync(NewGroup(), 1))[0];
        var dispatcher = server.Services.GetRequiredService<OutboxDispatcher>();
        using var ana = server.CreateClient(await server.CreateKeyAsync("ana", ["approver"]));
        using var request = new HttpRequestMessage(HttpMethod.Patch, $"/api/registry/packages/{id}")
        {
            Content = JsonContent.Create(new { approvalStatus = "Approved", description = "ship it" }),
        };
        // The header that once named the approver is ignored: the identity is the key's.
        request.Headers.Add("X-Flotilla-User", "mallory");

        using var response = await ana.SendAsync(request);
        var package = await response.Content.ReadFromJsonAsync<JsonObject>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(("Approved", "ship it", "ana"),
            ((string?)package!["approvalStatus"], (string?)package["approvalDescription"], (string?)package["statusChangedBy"]));
        // The server's own dispatcher delivers it (no subscriber is required for delivery to complete).
        await Eventually.TrueAsync(async () => await dispatcher.CountUndeliveredAsync(CancellationToken.None) == 0, "the outbox is delivered");
    }

    [Fact]
    public async Task An_unknown_package_is_a_404_naming_it()
    {
        using var get = await server.Client.GetAsync("/api/registry/packages/ghost-v7");
        using var patch = await server.Client.PatchAsJsonAsync("/api/registry/packages/ghost-v7", new { approvalStatus = "Approved" });
        using var group = await server.Client.GetAsync("/api/registry/groups/ghost/packages");

        foreach (var (response, name) in new[] { (get, "ghost-v7"), (patch, "ghost-v7"), (group, "ghost") })
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains($"'{name}'", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["detail"]);
        }
    }

    [Fact]
    public async Task A_bad_status_is_a_400_listing_the_allowed_values()
    {
        var id = (await SeedAsync(NewGroup(), 1))[0];

        using var patch = await server.Client.PatchAsJsonAsync($"/api/registry/packages/{id}", new { approvalStatus = "Shipped" });
        using var list = await server.Client.GetAsync($"/api/registry/groups/{NewGroup()}/packages?status=Shipped");

        foreach (var response in new[] { patch, list })
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var detail = (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["detail"];
            Assert.Contains("'Shipped'", detail);
            Assert.Contains("PendingManualApproval, Approved, Rejected", detail);
        }
    }

    [Fact]
    public async Task Going_back_to_pending_is_a_409_and_changes_nothing()
    {
        var id = (await SeedAsync(NewGroup(), 1))[0];
        await Registry.UpdateApprovalStatusAsync(id, ApprovalStatus.Rejected, "worse than v0", "ana", CancellationToken.None);

        using var response = await server.Client.PatchAsJsonAsync($"/api/registry/packages/{id}", new { approvalStatus = "PendingManualApproval" });

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("from Rejected to PendingManualApproval", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["detail"]);
        Assert.Equal(ApprovalStatus.Rejected, (await Registry.GetPackageAsync(id, CancellationToken.None))!.ApprovalStatus);
    }

    private static string NewGroup() => $"multimodel-{Guid.NewGuid():N}"[..24];

    private async Task<List<string>> SeedAsync(string group, int count)
    {
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var package = await Registry.RegisterAsync(new RegisterModelPackage(
                group,
                new ArtifactRef(new string('c', 64), 2048, new Uri("file:///tmp/artifact")),
                JsonSerializer.SerializeToElement(new { auc = 0.93, accuracy = 0.95, confusionMatrix = new[] { new[] { 50, 3 }, new[] { 2, 60 } } }),
                JsonSerializer.SerializeToElement(new { MaxTuningJobs = 12 }),
                new PackageLineage("exec-42", "RegisterModel", "feed")), CancellationToken.None);
            ids.Add(package.Id);
        }
        return ids;
    }
}
