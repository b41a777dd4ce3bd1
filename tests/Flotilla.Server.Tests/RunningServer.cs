using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Server.Tests;

/// <summary>
/// A real Flotilla server on Kestrel at 127.0.0.1 with its own data folder, for one test class
/// (use as <c>IClassFixture&lt;RunningServer&gt;</c>) or one test (<c>await using var server = await RunningServer.StartAsync()</c>).
/// </summary>
public sealed class RunningServer : IAsyncLifetime, IAsyncDisposable
{
    private WebApplication? _app;

    public string DataDirectory { get; } = Directory.CreateTempSubdirectory("flotilla-test-").FullName;
    public Uri BaseAddress { get; private set; } = null!;
    public HttpClient Client { get; private set; } = null!;
    public IServiceProvider Services => _app!.Services;

    public static async Task<RunningServer> StartAsync(params string[] settings)
    {
        var server = new RunningServer();
        await server.StartCoreAsync(settings);
        return server;
    }

    public Task InitializeAsync() => StartCoreAsync([]);

    private async Task StartCoreAsync(string[] settings)
    {
        _app = FlotillaServer.Build(
            ["--urls", "http://127.0.0.1:0", $"--Flotilla:DataDirectory={DataDirectory}", .. settings]);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
        Client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
    }

    async Task IAsyncLifetime.DisposeAsync() => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        Client?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
    }
}
