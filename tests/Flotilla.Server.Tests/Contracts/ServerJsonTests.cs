using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotilla.Contracts;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Flotilla.Server.Tests.Contracts;

/// <summary>The server writes its answers with the contracts' source-generated metadata, and clients read them back whole.</summary>
public sealed class ServerJsonTests(RunningServer server) : IClassFixture<RunningServer>
{
    [Fact]
    public void The_minimal_apis_resolve_the_contracts_through_the_generated_context_first()
    {
        var options = server.Services.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;

        Assert.Contains(FlotillaJson.Default, options.TypeInfoResolverChain);
        Assert.Same(FlotillaJson.Default, options.GetTypeInfo(typeof(ExecutionDetail)).OriginatingResolver);
        Assert.Same(FlotillaJson.Default, options.GetTypeInfo(typeof(IReadOnlyList<PackageSummary>)).OriginatingResolver);
    }

    [Fact]
    public async Task A_contract_read_from_the_api_and_written_again_is_the_same_json()
    {
        var text = await server.Client.GetStringAsync("/api/pipelines/multimodel");

        var pipeline = JsonSerializer.Deserialize(text, FlotillaJson.Default.Pipeline)!;

        var again = JsonSerializer.Serialize(pipeline, FlotillaJson.Default.Pipeline);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(text), JsonNode.Parse(again)), $"{text}\n!=\n{again}");
        Assert.Contains(pipeline.Parameters, p => p.Name == "TuningStrategy" && p.Type == ParameterType.Enum);
        Assert.NotNull(await server.Client.GetFromJsonAsync("/api/endpoint", FlotillaJson.Default.EndpointView));
    }
}
