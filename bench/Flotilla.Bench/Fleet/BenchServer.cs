using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Flotilla.Fleet;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;
using Flotilla.Registry;
using Flotilla.Server;
using Flotilla.Storage.Artifacts;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Bench.Fleet;

/// <summary>
/// A real Flotilla server on 127.0.0.1 in this process, with a temporary data folder, started as <c>flotilla server</c>
/// starts it: its shipped logging defaults, nothing quieter, so the numbers are the ones a user gets.
/// </summary>
internal sealed class BenchServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _data;

    private BenchServer(WebApplication app, string data, Uri address, string adminKey)
    {
        _app = app;
        _data = data;
        Address = address;
        AdminKey = adminKey;
        Client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromMinutes(2) };
        Client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", adminKey);
    }

    /// <summary>The key the server's first start wrote to its data folder; <see cref="Client"/> sends it.</summary>
    public string AdminKey { get; }

    public Uri Address { get; }

    /// <summary>The server's data folder (its default data root for datasets is <c>imports</c> under it).</summary>
    public string DataDirectory => _data;

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    public FleetClient Fleet => Services.GetRequiredService<FleetClient>();

    public static Task<BenchServer> StartAsync(params string[] settings) => StartAsync(null, settings);

    /// <summary>A server whose builder <paramref name="configure"/> may change (benchmark hosts only, e.g. to switch a cost off).</summary>
    public static async Task<BenchServer> StartAsync(Action<WebApplicationBuilder>? configure, params string[] settings)
    {
        var data = Directory.CreateTempSubdirectory("flotilla-fleet-bench-").FullName;
        var app = FlotillaServer.Build(
        [
            "--urls", "http://127.0.0.1:0", $"--Flotilla:DataDirectory={data}", .. settings,
        ], configure);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var key = (await File.ReadAllTextAsync(Path.Combine(data, "admin.key"))).Trim();
        return new BenchServer(app, data, new Uri(address), key);
    }

    /// <summary>Makes an API key with <paramref name="roles"/> and returns its secret.</summary>
    public async Task<string> CreateKeyAsync(string name, string[] roles, CancellationToken cancellationToken)
    {
        using var response = await Client.PostAsync("/api/keys",
            new StringContent(JsonSerializer.Serialize(new { name, roles }), System.Text.Encoding.UTF8, "application/json"), cancellationToken);
        response.EnsureSuccessStatusCode();
        using var created = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return created.RootElement.GetProperty("key").GetString()!;
    }

    /// <summary>
    /// Stores an artifact and registers it, approved, as the next version of <paramref name="group"/>; with
    /// <paramref name="profileRows"/>, with the training profile of those rows (so the endpoint keeps drift windows for it).
    /// </summary>
    public async Task<ModelPackage> DeployAsync(string group, byte[] artifact, CancellationToken cancellationToken, Table? profileRows = null)
    {
        var reference = await Services.GetRequiredService<IArtifactStore>().PutAsync(artifact, cancellationToken);
        using var empty = JsonDocument.Parse("{}");
        var evaluation = profileRows is null ? empty.RootElement.Clone()
            : JsonSerializer.SerializeToElement(new { profile = TrainingProfile.Compute(ModelArtifact.Load(artifact, reference.Sha256), profileRows, profileRows) }, EvaluationReport.JsonOptions);
        return await Services.GetRequiredService<ModelRegistry>().RegisterAsync(
            new RegisterModelPackage(group, reference, evaluation, empty.RootElement.Clone(),
                new PackageLineage(null, null, null), ApprovalStatus.Approved, RegisteredBy: "bench"),
            cancellationToken);
    }

    public async Task<string> StoreAsync(byte[] artifact, CancellationToken cancellationToken) =>
        (await Services.GetRequiredService<IArtifactStore>().PutAsync(artifact, cancellationToken)).Sha256;

    /// <summary>Waits until every group resolves to its artifact in this process's alias cache.</summary>
    public async Task WaitDeployedAsync(IReadOnlyDictionary<string, string> artifactByGroup, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (artifactByGroup.Any(p => !(Fleet.TryResolve(p.Key, out var sha) && sha == p.Value)))
        {
            if (deadline.Elapsed > timeout)
            {
                var missing = artifactByGroup.Count(p => !(Fleet.TryResolve(p.Key, out var sha) && sha == p.Value));
                throw new TimeoutException($"{missing} of {artifactByGroup.Count} groups were not deployed within {timeout}.");
            }
            await Task.Delay(20, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_data, recursive: true); } catch (IOException) { }
    }
}

/// <summary>The breast-cancer dataset of ../shared/datasets and models of it made by the learning core.</summary>
internal sealed class BreastCancer
{
    private BreastCancer(Table table, string firstRow)
    {
        Table = table;
        FirstRow = firstRow;
    }

    public Table Table { get; }

    /// <summary>The first row's features, without the label: one row to score.</summary>
    public string FirstRow { get; }

    public static BreastCancer Load(CancellationToken cancellationToken)
    {
        var path = Path.Combine(BenchContext.RepositoryRoot(), "..", "shared", "datasets", "breast-cancer.csv");
        var table = TableReader.Read(path, new CsvOptions("CLASS"), cancellationToken);
        using var reader = new StreamReader(path);
        reader.ReadLine();
        var first = reader.ReadLine()!;
        return new BreastCancer(table, first[..first.LastIndexOf(',')]);
    }

    /// <summary>A model artifact; the seed is recorded in its metadata, so every seed gives a distinct artifact.</summary>
    public byte[] Train(string algorithm, int seed, CancellationToken cancellationToken) =>
        ModelArtifact.Serialize(AlgorithmCatalog.Get(algorithm).Fit(Table, HyperParameters.Empty, seed, cancellationToken));
}

internal static class Stats
{
    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    public static string Ms(double ms) => ms.ToString("F2", CultureInfo.InvariantCulture) + " ms";
}
