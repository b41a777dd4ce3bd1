using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Flotilla.Server.Hosting;
using Flotilla.Server.Identity;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

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
    /// <summary>The admin key the server's first start wrote to its data folder; <see cref="Client"/> sends it.</summary>
    public string AdminKey { get; private set; } = "";

    /// <summary>A client with the admin key.</summary>
    public HttpClient Client { get; private set; } = null!;
    public IServiceProvider Services => _app!.Services;

    public static Task<RunningServer> StartAsync(params string[] settings) => StartAsync(null, settings);

    /// <summary>A server whose builder <paramref name="configure"/> changes first (e.g. a test-only service decorator).</summary>
    public static async Task<RunningServer> StartAsync(Action<WebApplicationBuilder>? configure, params string[] settings)
    {
        var server = new RunningServer();
        await server.StartCoreAsync(settings, configure);
        return server;
    }

    public Task InitializeAsync() => StartCoreAsync([], null);

    private async Task StartCoreAsync(string[] settings, Action<WebApplicationBuilder>? configure)
    {
        _app = FlotillaServer.Build(
            ["--urls", "http://127.0.0.1:0", $"--Flotilla:DataDirectory={DataDirectory}", .. settings], configure);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
        AdminKey = await AdminKeyAsync();
        Client = CreateClient(AdminKey);
    }

    /// <summary>
    /// The key the server's first start wrote to its data folder; for a server that joined a database another one
    /// bootstrapped (and so wrote no file), an admin key made in its store.
    /// </summary>
    private async Task<string> AdminKeyAsync()
    {
        if (Flotilla.Cli.Client.Credentials.ReadKeyFile(Services.GetRequiredService<IOptions<FlotillaOptions>>().Value.DataDirectory) is { } written)
            return written;
        var issued = await Services.GetRequiredService<ApiKeyStore>().CreateAsync("test-admin", ["admin"], null, null, "test", CancellationToken.None);
        await Services.GetRequiredService<KeyRing>().ReloadAsync(CancellationToken.None);
        return issued.Secret;
    }

    /// <summary>A client sending <paramref name="key"/> as its bearer token, or no credentials at all when null.</summary>
    public HttpClient CreateClient(string? key)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (key is not null)
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>Makes a key with <paramref name="roles"/> (limited to <paramref name="groups"/> when given) and returns its secret.</summary>
    public async Task<string> CreateKeyAsync(string name, string[] roles, string[]? groups = null)
    {
        using var response = await Client.PostAsJsonAsync("/api/keys", new { name, roles, groups });
        response.EnsureSuccessStatusCode();
        var created = await response.Content.ReadFromJsonAsync<System.Text.Json.Nodes.JsonObject>();
        return created!["key"]!.GetValue<string>();
    }

    /// <summary>Stops the server as a shutdown would, keeping its data folder for another server started on it.</summary>
    public async Task StopAsync()
    {
        if (_app is null)
            return;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _app = null;
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
