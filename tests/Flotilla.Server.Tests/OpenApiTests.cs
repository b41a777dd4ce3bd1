using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Flotilla.Server.Tests;

public sealed class OpenApiTests(RunningServer server) : IClassFixture<RunningServer>
{
    [Fact]
    public async Task Every_route_declares_the_problem_answers_it_can_give()
    {
        var document = (await server.Client.GetFromJsonAsync<JsonObject>("/openapi/v1.json"))!;
        var missing = new List<string>();
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                var responses = operation!["responses"]!.AsObject();
                var needed = new List<string> { "414" };
                if (path != "/healthz")
                    needed.AddRange(["401", "403"]);
                if (method is "post" or "put" or "patch")
                    needed.AddRange(["400", "413"]);
                if (path.Contains('{'))
                    needed.Add("404");
                missing.AddRange(needed.Where(s => !responses.ContainsKey(s)).Select(s => $"{method.ToUpperInvariant()} {path}: {s}"));
                foreach (var (status, response) in responses.Where(r => r.Key.StartsWith('4')))
                {
                    if (response!["content"]?["application/problem+json"]?["schema"] is null)
                        missing.Add($"{method.ToUpperInvariant()} {path}: {status} without the problem-details schema");
                }
            }
        }

        Assert.Empty(missing);
        // Answers of the handlers themselves, declared on their routes.
        Assert.NotNull(document["paths"]!["/api/registry/packages/{id}"]!["patch"]!["responses"]!["409"]);
        Assert.NotNull(document["paths"]!["/api/executions/{id}/stop"]!["post"]!["responses"]!["409"]);
        Assert.True(document["paths"]!.AsObject().Count > 20, "the document lists the API's routes");
    }
}
