using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Flotilla.Cli.Demo;

namespace Flotilla.Server.Tests.Security;

public sealed class ApprovalRulesTests
{
    [Fact]
    public async Task With_the_four_eyes_rule_the_principal_that_started_a_run_cannot_approve_what_it_registered()
    {
        await using var server = await RunningServer.StartAsync("--Flotilla:Registry:RequireDifferentApprover=true");
        using var alice = server.CreateClient(await server.CreateKeyAsync("alice", ["operator", "approver"]));
        using var bob = server.CreateClient(await server.CreateKeyAsync("bob", ["approver"]));
        var dataset = ExampleDatasets.Churn(7);
        using var upload = new MultipartFormDataContent
        {
            { new StringContent("four-eyes"), "name" },
            { new StringContent(dataset.Target), "target" },
            { new StringContent(string.Join(",", dataset.Exclude)), "exclude" },
        };
        var file = new StringContent(dataset.Csv);
        file.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        upload.Add(file, "file", "four-eyes.csv");
        (await alice.PostAsync("/api/datasets", upload)).EnsureSuccessStatusCode();
        var parameters = new Dictionary<string, object> { ["DatasetName"] = "four-eyes", ["MaxTuningJobs"] = 2, ["CrossValidationFolds"] = 2, ["MinThresholdForRegisterMetric"] = 0 };
        using var started = await alice.PostAsJsonAsync("/api/pipelines/multimodel/executions", new { parameters });
        started.EnsureSuccessStatusCode();
        var id = (string)(await started.Content.ReadFromJsonAsync<JsonObject>())!["executionId"]!;
        for (var deadline = DateTime.UtcNow.AddSeconds(120); ; await Task.Delay(200))
        {
            var status = (string?)(await server.Client.GetFromJsonAsync<JsonObject>($"/api/executions/{id}"))!["status"];
            if (status is "Succeeded")
                break;
            Assert.True(status is "Executing" && DateTime.UtcNow < deadline, $"execution {id} is {status}");
        }

        using var byAlice = await alice.PatchAsJsonAsync("/api/registry/packages/multimodel-four-eyes-v1", new { approvalStatus = "Approved" });
        using var byBob = await bob.PatchAsJsonAsync("/api/registry/packages/multimodel-four-eyes-v1", new { approvalStatus = "Approved" });

        Assert.Equal(HttpStatusCode.Forbidden, byAlice.StatusCode);
        Assert.Contains("RequireDifferentApprover", await byAlice.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, byBob.StatusCode);
        Assert.Equal("bob", (string?)(await byBob.Content.ReadFromJsonAsync<JsonObject>())!["statusChangedBy"]);
    }

    [Fact]
    public async Task Execution_starts_over_the_per_principal_limit_get_429_with_retry_after()
    {
        await using var server = await RunningServer.StartAsync("--Flotilla:RateLimits:ExecutionStartsPerMinute=2");
        using var other = server.CreateClient(await server.CreateKeyAsync("other", ["operator"]));
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? last = null;
        for (var i = 0; i < 3; i++)
        {
            last?.Dispose();
            last = await server.Client.PostAsJsonAsync("/api/pipelines/no-such-pipeline/executions", new { });
            statuses.Add(last.StatusCode);
        }
        using var fromOther = await other.PostAsJsonAsync("/api/pipelines/no-such-pipeline/executions", new { });

        Assert.Equal([HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.TooManyRequests], statuses);
        Assert.True(last!.Headers.RetryAfter?.Delta > TimeSpan.Zero, "429 carries Retry-After in seconds");
        Assert.Equal(HttpStatusCode.NotFound, fromOther.StatusCode);
        last.Dispose();
    }
}
