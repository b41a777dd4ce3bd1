using System.Globalization;
using System.Text;
using System.Text.Json;
using Flotilla.Fleet;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;
using Flotilla.Registry;
using Flotilla.Storage.Artifacts;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Server.Tests.Endpoint;

/// <summary>
/// A running server with one group, <see cref="Group"/>, whose version 1 (a small real model trained on a
/// generated table: width, height, colour → "big" when width + height exceeds 10) was approved and deployed
/// through the registry's events.
/// </summary>
public sealed class DeployedModelServer : IAsyncLifetime
{
    public const string Group = "multimodel-tiny";
    public const int MaxInvocationBytes = 4096;

    public RunningServer Server { get; private set; } = null!;

    public ModelPackage Version1 { get; private set; } = null!;

    public HttpClient Client => Server.Client;

    public async Task InitializeAsync()
    {
        Server = await RunningServer.StartAsync($"--Flotilla:Fleet:MaxInvocationBytes={MaxInvocationBytes}");
        Version1 = await RegisterAsync(Server.Services, Group, TrainTinyModel(seed: 1), ApprovalStatus.Approved);
        var fleet = Server.Services.GetRequiredService<FleetClient>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!fleet.TryResolve(Group, out _))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{Group} was not deployed within 30 s of its approval.");
            await Task.Delay(20);
        }
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();

    public static async Task<ModelPackage> RegisterAsync(IServiceProvider services, string group, byte[] artifact, ApprovalStatus status)
    {
        var reference = await services.GetRequiredService<IArtifactStore>().PutAsync(artifact, CancellationToken.None);
        using var empty = JsonDocument.Parse("{}");
        return await services.GetRequiredService<ModelRegistry>().RegisterAsync(
            new RegisterModelPackage(group, reference, empty.RootElement.Clone(), empty.RootElement.Clone(), new PackageLineage(null, null, null), status),
            CancellationToken.None);
    }

    public static byte[] TrainTinyModel(int seed)
    {
        var random = new Random(seed);
        var csv = new StringBuilder("width,height,color,label\n");
        string[] colors = ["red", "green", "blue"];
        for (var i = 0; i < 120; i++)
        {
            var width = random.NextDouble() * 10;
            var height = random.NextDouble() * 10;
            var label = width + height + (random.NextDouble() - 0.5) > 10 ? "big" : "small";
            csv.Append(CultureInfo.InvariantCulture, $"{width:F3},{height:F3},{colors[random.Next(3)]},{label}\n");
        }
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(csv.ToString()));
        var table = TableReader.Read(stream, $"tiny-{seed}.csv", new CsvOptions("label"), CancellationToken.None);
        return ModelArtifact.Serialize(AlgorithmCatalog.Get("NaiveBayes").Fit(table, HyperParameters.Empty, seed, CancellationToken.None));
    }
}
