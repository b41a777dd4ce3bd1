using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Flotilla.Server.Tests.Endpoint;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Server.Tests.Security;

/// <summary>Who may call what, replayed over HTTP against a server with one deployed group.</summary>
public sealed class AccessTests(DeployedModelServer fixture) : IClassFixture<DeployedModelServer>
{
    private RunningServer Server => fixture.Server;

    /// <summary>One route of each class, with a body that would be accepted from a caller with the right role.</summary>
    public static TheoryData<string, string> RouteClasses => new()
    {
        { "GET", "/api/datasets" },
        { "POST", "/api/datasets" },
        { "DELETE", "/api/datasets/any" },
        { "GET", "/api/pipelines" },
        { "POST", "/api/pipelines" },
        { "POST", "/api/pipelines/multimodel/executions" },
        { "GET", "/api/executions" },
        { "POST", "/api/executions/any/stop" },
        { "GET", "/api/registry/groups" },
        { "PATCH", "/api/registry/packages/any" },
        { "GET", "/api/endpoint" },
        { "PUT", $"/api/endpoint/aliases/{DeployedModelServer.Group}" },
        { "GET", "/metrics" },
        { "GET", "/openapi/v1.json" },
        { "GET", "/api/keys" },
        { "POST", "/api/keys" },
        { "GET", "/api/audit" },
        { "POST", $"/models/{DeployedModelServer.Group}/invocations" },
        { "POST", "/invocations" },
        { "POST", "/invoke" },
    };

    [Theory]
    [MemberData(nameof(RouteClasses))]
    public async Task An_anonymous_call_gets_401_with_a_problem_that_says_how_to_authenticate(string method, string path)
    {
        using var anonymous = Server.CreateClient(null);
        using var response = await anonymous.SendAsync(Request(method, path));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("Authorization: Bearer", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_made_up_or_malformed_key_is_refused_like_no_key()
    {
        foreach (var token in new[] { "flk_" + new string('A', 43), "not-a-flotilla-key", "eyJhbGciOiJIUzI1NiJ9.e30.c2ln" })
        {
            using var client = Server.CreateClient(token);
            using var response = await client.GetAsync("/api/datasets");
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
    }

    [Fact]
    public void Every_route_declares_who_may_call_it()
    {
        var undeclared = Server.Services.GetRequiredService<EndpointDataSource>().Endpoints
            .OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IAllowAnonymous>() is null && e.Metadata.GetMetadata<IAuthorizeData>() is null)
            .Select(e => e.RoutePattern.RawText)
            .ToList();

        Assert.Empty(undeclared);
    }

    public static TheoryData<string, string, string, string> WrongRoles => new()
    {
        { "viewer", "POST", "/api/datasets", "operator" },
        { "viewer", "POST", "/api/pipelines/multimodel/executions", "operator" },
        { "operator", "PATCH", "/api/registry/packages/any", "approver" },
        { "operator", "PUT", $"/api/endpoint/aliases/{DeployedModelServer.Group}", "approver" },
        { "invoker", "GET", "/api/datasets", "viewer" },
        { "viewer", "POST", $"/models/{DeployedModelServer.Group}/invocations", "invoker" },
        { "approver", "POST", "/api/keys", "admin" },
        { "operator", "GET", "/api/audit", "approver" },
        { "viewer", "GET", "/api/keys", "admin" },
    };

    [Theory]
    [MemberData(nameof(WrongRoles))]
    public async Task A_key_without_the_role_a_route_needs_gets_403_naming_that_role(string role, string method, string path, string needed)
    {
        using var client = Server.CreateClient(await Server.CreateKeyAsync($"only-{role}", [role]));
        using var response = await client.SendAsync(Request(method, path));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(needed, problem.GetProperty("requiredRole").GetString());
        Assert.Contains($"lacks role '{needed}'", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task An_invoker_key_of_one_group_cannot_invoke_another_group_nor_its_artifact_by_hash()
    {
        var other = await DeployedModelServer.RegisterAsync(Server.Services, "multimodel-other", Flotilla.Testing.TinyModels.Artifact(2), Flotilla.Registry.ApprovalStatus.Approved);
        var fleet = Server.Services.GetRequiredService<Flotilla.Fleet.FleetClient>();
        for (var deadline = DateTime.UtcNow.AddSeconds(30); !fleet.TryResolve("multimodel-other", out _); await Task.Delay(20))
            Assert.True(DateTime.UtcNow < deadline, "multimodel-other was not deployed within 30 s of its approval.");
        using var limited = Server.CreateClient(await Server.CreateKeyAsync("tiny-only", ["invoker"], [DeployedModelServer.Group]));

        using var own = await limited.PostAsync($"/models/{DeployedModelServer.Group}/invocations", Csv("7.5,6.0,red"));
        using var byOwnHash = await limited.SendAsync(ByHeader(fixture.Version1.Artifact.Sha256));
        using var foreign = await limited.PostAsync("/models/multimodel-other/invocations", Csv("7.5,6.0,red"));
        using var byForeignHash = await limited.SendAsync(ByHeader(other.Artifact.Sha256));
        using var byReferencePayload = await limited.PostAsJsonAsync("/invoke", new { model = "multimodel-other", data = "7.5,6.0,red" });
        using var unknown = await limited.PostAsync("/models/multimodel-nothing/invocations", Csv("7.5,6.0,red"));

        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        Assert.Equal(HttpStatusCode.OK, byOwnHash.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, foreign.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, byForeignHash.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, byReferencePayload.StatusCode);
        // Whether a group exists is not told to a key that may not call it.
        Assert.Equal(HttpStatusCode.Forbidden, unknown.StatusCode);
    }

    [Fact]
    public async Task A_revoked_key_stops_working_at_once()
    {
        var key = await Server.CreateKeyAsync("short-lived", ["viewer"]);
        using var client = Server.CreateClient(key);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/datasets")).StatusCode);
        var id = (await Server.Client.GetFromJsonAsync<JsonElement>("/api/keys")).EnumerateArray()
            .Single(k => k.GetProperty("name").GetString() == "short-lived").GetProperty("id").GetString();

        using var revoked = await Server.Client.DeleteAsync($"/api/keys/{id}");
        using var after = await client.GetAsync("/api/datasets");

        Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }

    [Fact]
    public async Task A_key_listing_never_shows_a_secret_and_a_key_is_shown_once()
    {
        var secret = await Server.CreateKeyAsync("listed", ["viewer"]);
        var listing = await Server.Client.GetStringAsync("/api/keys");

        Assert.StartsWith("flk_", secret);
        Assert.DoesNotContain(secret, listing);
        Assert.DoesNotContain("sha256", listing, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_key_request_with_an_unknown_role_or_a_past_expiry_is_refused_clearly()
    {
        using var role = await Server.Client.PostAsJsonAsync("/api/keys", new { name = "x", roles = new[] { "root" } });
        using var expired = await Server.Client.PostAsJsonAsync("/api/keys", new { name = "x", roles = new[] { "viewer" }, expiresAt = DateTimeOffset.UtcNow.AddMinutes(-1) });

        Assert.Equal(HttpStatusCode.BadRequest, role.StatusCode);
        Assert.Contains("'root', which is not a role", await role.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, expired.StatusCode);
        Assert.Contains("is not in the future", await expired.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_drive_by_text_plain_pipeline_post_without_a_key_stores_nothing()
    {
        const string yaml = "name: pwned\nsteps:\n  - name: Run\n    type: Process\n    command: [sh, -c, \"id > pwned\"]\n";
        using var anonymous = Server.CreateClient(null);

        using var posted = await anonymous.PostAsync("/api/pipelines", new StringContent(yaml, Encoding.UTF8, "text/plain"));
        using var started = await anonymous.PostAsync("/api/pipelines/pwned/executions", null);

        Assert.Equal(HttpStatusCode.Unauthorized, posted.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, started.StatusCode);
        using var lookup = await Server.Client.GetAsync("/api/pipelines/pwned");
        Assert.Equal(HttpStatusCode.NotFound, lookup.StatusCode);
    }

    [Fact]
    public async Task Only_an_admin_may_define_a_pipeline_with_a_process_step()
    {
        const string yaml = "name: runs-a-command\nsteps:\n  - name: Run\n    type: Process\n    command: [echo, hello]\n";
        using var operatorClient = Server.CreateClient(await Server.CreateKeyAsync("ops", ["operator"]));

        using var refused = await operatorClient.PostAsync("/api/pipelines", new StringContent(yaml, Encoding.UTF8, "text/plain"));

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("Process step", await refused.Content.ReadAsStringAsync());
        using var lookup = await Server.Client.GetAsync("/api/pipelines/runs-a-command");
        Assert.Equal(HttpStatusCode.NotFound, lookup.StatusCode);
    }

    private static HttpRequestMessage Request(string method, string path) => new(new HttpMethod(method), path)
    {
        Content = method is "GET" or "DELETE" ? null : new StringContent("{}", Encoding.UTF8, "application/json"),
    };

    private static StringContent Csv(string rows) => new(rows, Encoding.UTF8, "text/csv");

    private static HttpRequestMessage ByHeader(string sha256)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/invocations") { Content = Csv("7.5,6.0,red") };
        request.Headers.Add("X-Target-Model", sha256);
        return request;
    }
}
