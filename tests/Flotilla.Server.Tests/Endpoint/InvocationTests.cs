using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Flotilla.Fleet;
using Flotilla.Learning.Artifacts;
using Flotilla.Registry;
using Flotilla.Storage.Artifacts;
using Flotilla.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Server.Tests.Endpoint;

public sealed class InvocationTests(DeployedModelServer fixture) : IClassFixture<DeployedModelServer>
{
    private const string Group = DeployedModelServer.Group;
    private readonly HttpClient _client = fixture.Client;

    private static HttpRequestMessage Post(string path, string body, string contentType, string accept = "application/json")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, contentType) };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
        return request;
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    [Fact]
    public async Task Csv_rows_sent_to_a_group_get_a_label_and_probability_per_row_as_csv()
    {
        var response = await _client.SendAsync(Post($"/models/{Group}/invocations", "7.5,6.0,red\n0.5,1.0,blue\n", "text/csv", "text/csv"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("big,", lines[0]);
        Assert.StartsWith("small,", lines[1]);
        Assert.InRange(double.Parse(lines[0].Split(',')[1], System.Globalization.CultureInfo.InvariantCulture), 0.5, 1.0);
    }

    [Fact]
    public async Task Json_rows_by_feature_name_get_json_predictions()
    {
        var response = await _client.SendAsync(Post($"/models/{Group}/invocations",
            """[{"color": "red", "width": 7.5, "height": 6.0}, {"width": 0.5, "height": 1.0, "color": "blue"}]""", "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var predictions = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("predictions");
        Assert.Equal(["big", "small"], predictions.EnumerateArray().Select(p => p.GetProperty("label").GetString()));
        Assert.All(predictions.EnumerateArray(), p => Assert.InRange(p.GetProperty("probability").GetDouble(), 0, 1));
    }

    [Fact]
    public async Task The_target_header_names_a_model_by_artifact_hash_or_by_group()
    {
        foreach (var target in new[] { fixture.Version1.Artifact.Sha256, fixture.Version1.Artifact.Sha256.ToUpperInvariant(), Group })
        {
            var request = Post("/invocations", "7.5,6.0,red", "text/csv", "text/csv");
            request.Headers.Add("X-Target-Model", target);
            var response = await _client.SendAsync(request);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.StartsWith("big,", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task The_reference_payload_is_served_unchanged()
    {
        var response = await _client.PostAsJsonAsync("/invoke", new { model = Group, data = "7.5,6.0,red\n0.5,1.0,blue" });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var predictions = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("predictions");
        Assert.Equal(["big", "small"], predictions.EnumerateArray().Select(p => p.GetProperty("label").GetString()));
    }

    [Fact]
    public async Task Every_door_names_the_serving_version_and_a_fresh_request_id_in_headers_and_json_body()
    {
        var byHash = Post("/invocations", """[{"width": 7.5, "height": 6.0, "color": "red"}]""", "application/json");
        byHash.Headers.Add("X-Target-Model", fixture.Version1.Artifact.Sha256);
        var answers = new[]
        {
            await _client.SendAsync(Post($"/models/{Group}/invocations", "7.5,6.0,red", "text/csv")),
            await _client.SendAsync(byHash),
            await _client.PostAsJsonAsync("/invoke", new { model = Group, data = "7.5,6.0,red" }),
        };

        var ids = new List<string>();
        foreach (var response in answers)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("1", Assert.Single(response.Headers.GetValues("X-Flotilla-Model-Version")));
            var id = Assert.Single(response.Headers.GetValues("X-Flotilla-Request-Id"));
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(1, body.GetProperty("version").GetInt32());
            Assert.Equal(id, body.GetProperty("requestId").GetString());
            Assert.Equal("big", Assert.Single(body.GetProperty("predictions").EnumerateArray()).GetProperty("label").GetString());
            ids.Add(id);
        }
        Assert.Equal(3, ids.Distinct().Count());
        Assert.All(ids, id => Assert.Matches("^[0-9a-f]{32}$", id));
    }

    [Fact]
    public async Task A_callers_request_id_is_kept_and_a_malformed_one_is_a_400_that_says_what_is_allowed()
    {
        var csv = Post($"/models/{Group}/invocations", "7.5,6.0,red", "text/csv", "text/csv");
        csv.Headers.Add("X-Flotilla-Request-Id", "order-17:retry.2_a");
        var json = Post($"/models/{Group}/invocations", "7.5,6.0,red", "text/csv");
        json.Headers.Add("X-Flotilla-Request-Id", "order-17:retry.2_a");
        var tooLong = Post($"/models/{Group}/invocations", "7.5,6.0,red", "text/csv");
        tooLong.Headers.Add("X-Flotilla-Request-Id", new string('a', 129));
        var badCharacters = new HttpRequestMessage(HttpMethod.Post, "/invoke") { Content = JsonContent.Create(new { model = Group, data = "7.5,6.0,red" }) };
        badCharacters.Headers.TryAddWithoutValidation("X-Flotilla-Request-Id", "a b/<c>");

        var csvAnswer = await _client.SendAsync(csv);
        var jsonAnswer = await _client.SendAsync(json);
        var tooLongAnswer = await _client.SendAsync(tooLong);
        var badAnswer = await _client.SendAsync(badCharacters);

        Assert.Equal(HttpStatusCode.OK, csvAnswer.StatusCode);
        Assert.Equal("order-17:retry.2_a", Assert.Single(csvAnswer.Headers.GetValues("X-Flotilla-Request-Id")));
        Assert.Equal("1", Assert.Single(csvAnswer.Headers.GetValues("X-Flotilla-Model-Version")));
        Assert.StartsWith("big,", await csvAnswer.Content.ReadAsStringAsync());
        Assert.Equal("order-17:retry.2_a", (await jsonAnswer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("requestId").GetString());
        foreach (var refused in new[] { tooLongAnswer, badAnswer })
        {
            var problem = await ProblemAsync(refused, HttpStatusCode.BadRequest);
            Assert.Contains("X-Flotilla-Request-Id", problem.GetProperty("detail").GetString());
            Assert.Contains("128", problem.GetProperty("detail").GetString());
            Assert.Matches("^[0-9a-f]{32}$", Assert.Single(refused.Headers.GetValues("X-Flotilla-Request-Id")));
            Assert.False(refused.Headers.Contains("X-Flotilla-Model-Version"));
        }
    }

    [Fact]
    public async Task Every_door_labels_by_the_decision_threshold_stored_in_the_artifact()
    {
        const string group = "multimodel-tiny-cut";
        var plain = TinyModels.Artifact(1);
        var atHalf = ModelArtifact.Load(plain, ModelArtifact.Sha256(plain)).PredictCsv(TinyModels.Row)[0];
        Assert.Equal("big", atHalf.Label);
        // "small" is the positive class (the second value in ordinal order). A cut below this row's P(small)
        // makes the same model call it small, with the probability of that label.
        var cut = atHalf.PositiveProbability / 2;
        var package = await DeployedModelServer.RegisterAsync(fixture.Server.Services, group, TinyModels.Artifact(1, cut), ApprovalStatus.Approved);
        var fleet = fixture.Server.Services.GetRequiredService<FleetClient>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!fleet.TryResolve(group, out _))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{group} was not deployed within 30 s of its approval.");
            await Task.Delay(20);
        }

        var byHeader = Post("/invocations", TinyModels.Row, "text/csv");
        byHeader.Headers.Add("X-Target-Model", package.Artifact.Sha256);
        var answers = new[]
        {
            await _client.SendAsync(Post($"/models/{group}/invocations", TinyModels.Row, "text/csv")),
            await _client.SendAsync(Post($"/models/{group}/invocations", """{"width": 7.5, "height": 6.0, "color": "red"}""", "application/json")),
            await _client.SendAsync(byHeader),
            await _client.PostAsJsonAsync("/invoke", new { model = group, data = TinyModels.Row }),
        };

        foreach (var response in answers)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var prediction = Assert.Single((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("predictions").EnumerateArray());
            Assert.Equal("small", prediction.GetProperty("label").GetString());
            Assert.Equal(atHalf.PositiveProbability, prediction.GetProperty("probability").GetDouble(), 12);
        }
        var served = await _client.SendAsync(Post($"/models/{Group}/invocations", TinyModels.Row, "text/csv", "text/csv"));
        Assert.StartsWith("big,", await served.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_unknown_model_is_a_404_that_names_it_at_every_door()
    {
        var header = Post("/invocations", "1,2,red", "text/csv");
        header.Headers.Add("X-Target-Model", "multimodel-nowhere");
        var hash = Post("/invocations", "1,2,red", "text/csv");
        hash.Headers.Add("X-Target-Model", new string('b', 64));
        HttpResponseMessage[] responses =
        [
            await _client.SendAsync(header),
            await _client.SendAsync(hash),
            await _client.SendAsync(Post("/models/multimodel-nowhere/invocations", "1,2,red", "text/csv")),
            await _client.PostAsJsonAsync("/invoke", new { model = "multimodel-nowhere", data = "1,2,red" }),
        ];

        foreach (var (response, name) in responses.Zip(new[] { "multimodel-nowhere", new string('b', 64), "multimodel-nowhere", "multimodel-nowhere" }))
        {
            var problem = await ProblemAsync(response, HttpStatusCode.NotFound);
            Assert.Contains(name, problem.GetProperty("detail").GetString());
        }
    }

    [Fact]
    public async Task A_bad_row_is_a_400_that_names_the_row_and_column()
    {
        var response = await _client.SendAsync(Post($"/models/{Group}/invocations", "7.5,6.0,red\n1.0,tall,red", "text/csv"));

        var detail = (await ProblemAsync(response, HttpStatusCode.BadRequest)).GetProperty("detail").GetString();
        Assert.Contains("2", detail);
        Assert.Contains("height", detail);
    }

    [Fact]
    public async Task Malformed_json_and_a_missing_target_are_400s_that_say_what_to_send()
    {
        var json = await _client.SendAsync(Post($"/models/{Group}/invocations", "[{\"width\": ", "application/json"));
        var reference = await _client.SendAsync(Post("/invoke", """{"data": "1,2,red"}""", "application/json"));
        var header = await _client.SendAsync(Post("/invocations", "1,2,red", "text/csv"));

        Assert.Contains("JSON", (await ProblemAsync(json, HttpStatusCode.BadRequest)).GetProperty("detail").GetString());
        Assert.Contains("\"model\"", (await ProblemAsync(reference, HttpStatusCode.BadRequest)).GetProperty("detail").GetString());
        Assert.Contains("X-Target-Model", (await ProblemAsync(header, HttpStatusCode.BadRequest)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_body_over_the_invocation_limit_is_a_413()
    {
        var rows = string.Concat(Enumerable.Repeat("7.5,6.0,red\n", DeployedModelServer.MaxInvocationBytes / 12 + 10));
        var sized = await _client.SendAsync(Post($"/models/{Group}/invocations", rows, "text/csv"));
        var chunked = new HttpRequestMessage(HttpMethod.Post, $"/models/{Group}/invocations")
        {
            Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(rows))),
        };
        chunked.Headers.TransferEncodingChunked = true;
        var streamed = await _client.SendAsync(chunked);

        Assert.Contains($"{DeployedModelServer.MaxInvocationBytes:N0}", (await ProblemAsync(sized, HttpStatusCode.RequestEntityTooLarge)).GetProperty("detail").GetString());
        await ProblemAsync(streamed, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task A_model_that_cannot_load_is_a_503_with_the_reason()
    {
        var broken = await fixture.Server.Services.GetRequiredService<IArtifactStore>()
            .PutAsync(Encoding.UTF8.GetBytes("not a model"), CancellationToken.None);
        var request = Post("/invocations", "7.5,6.0,red", "text/csv");
        request.Headers.Add("X-Target-Model", broken.Sha256);

        var response = await _client.SendAsync(request);

        var detail = (await ProblemAsync(response, HttpStatusCode.ServiceUnavailable)).GetProperty("detail").GetString();
        Assert.Contains(broken.Sha256, detail);
        Assert.Contains("not a Flotilla model artifact", detail);
    }

    [Fact]
    public async Task The_endpoint_api_and_metrics_show_the_alias_map_instances_and_counters()
    {
        Assert.Equal(HttpStatusCode.OK, (await _client.SendAsync(Post($"/models/{Group}/invocations", "7.5,6.0,red", "text/csv"))).StatusCode);

        var endpoint = await _client.GetFromJsonAsync<JsonElement>("/api/endpoint");
        var metrics = await _client.GetStringAsync("/metrics");

        var alias = Assert.Single(endpoint.GetProperty("aliases").EnumerateArray());
        Assert.Equal((Group, 1, fixture.Version1.Artifact.Sha256),
            (alias.GetProperty("group").GetString(), alias.GetProperty("version").GetInt32(), alias.GetProperty("artifactSha256").GetString()));
        var instance = Assert.Single(endpoint.GetProperty("instances").EnumerateArray());
        Assert.True(instance.GetProperty("modelsLoaded").GetInt32() >= 1);
        Assert.True(instance.GetProperty("bytesInUse").GetInt64() > 0);
        var model = endpoint.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("artifactSha256").GetString() == fixture.Version1.Artifact.Sha256);
        Assert.Equal(1, model.GetProperty("loads").GetInt64());
        Assert.True(model.GetProperty("hits").GetInt64() >= 1);
        Assert.True(model.GetProperty("invocations").GetInt64() >= 1);
        Assert.Contains($"flotilla_model_hits_total{{silo=", metrics);
        Assert.Contains($"model=\"{fixture.Version1.Artifact.Sha256}\"", metrics);
        Assert.Contains("flotilla_invocation_duration_seconds_bucket", metrics);
        Assert.Contains("flotilla_fleet_bytes_in_use", metrics);
        Assert.Contains("flotilla_fleet_invocations_total{silo=", metrics);
    }
}
