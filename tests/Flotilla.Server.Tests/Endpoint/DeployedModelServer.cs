using System.Text.Json;
using Flotilla.Testing;
using Flotilla.Fleet;
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
        Version1 = await RegisterAsync(Server.Services, Group, TinyModels.Artifact(1), ApprovalStatus.Approved);
        var fleet = Server.Services.GetRequiredService<FleetClient>();
        await Eventually.TrueAsync(() => fleet.TryResolve(Group, out _), $"{Group} is deployed after its approval");
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
}
