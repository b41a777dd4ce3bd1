using Flotilla.Pipelines.Datasets;
using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Execution;
using Flotilla.Pipelines.Steps;
using Flotilla.Registry;
using Flotilla.Storage;
using Flotilla.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Flotilla.Pipelines.Tests;

/// <summary>
/// The pipelines component as the server composes it — storage, registry, engine and its worker pool — on a
/// temporary data folder with a SQLite file, or on a fresh PostgreSQL database of the test run's server.
/// </summary>
public sealed class PipelineHost : IAsyncDisposable
{
    private readonly IHost _host;

    private PipelineHost(IHost host, string dataDirectory)
    {
        _host = host;
        DataDirectory = dataDirectory;
    }

    public string DataDirectory { get; }

    /// <summary>Where the folder artifact store keeps the object (or folder of objects) <paramref name="key"/>.</summary>
    public string StoredPath(string key) => Path.Combine(DataDirectory, "artifacts", key);

    public IServiceProvider Services => _host.Services;

    public Executions Executions => Services.GetRequiredService<Executions>();

    public PipelineCatalog Pipelines => Services.GetRequiredService<PipelineCatalog>();

    public DatasetCatalog Datasets => Services.GetRequiredService<DatasetCatalog>();

    public ModelRegistry Registry => Services.GetRequiredService<ModelRegistry>();

    public enum Backend { Sqlite, Postgres }

    public static async Task<string> NewPostgresDatabaseAsync() =>
        await (await PostgresServer.GetSharedAsync()).CreateDatabaseAsync("pipelines");

    public static async Task<PipelineHost> StartAsync(
        Backend backend = Backend.Sqlite, string? dataDirectory = null, int workers = 16, string? postgresDatabase = null,
        Action<PipelineOptions>? configure = null)
    {
        var directory = dataDirectory ?? Directory.CreateTempSubdirectory("flotilla-pipelines-").FullName;
        var postgres = postgresDatabase ?? (backend == Backend.Postgres ? await NewPostgresDatabaseAsync() : null);
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddFlotillaStorage(o =>
        {
            o.DataDirectory = directory;
            o.PostgresConnectionString = postgres;
        });
        builder.Services.AddFlotillaRegistry();
        builder.Services.AddFlotillaPipelines(o =>
        {
            o.DataDirectory = directory;
            o.MaxConcurrentExecutions = workers;
            // The engine's tests drive the DAG with Process steps and read the shared datasets by path; the
            // tests of those gates switch them back through configure.
            o.AllowProcessSteps = true;
            o.DataRoots = [SharedData.Folder];
            configure?.Invoke(o);
        });
        builder.Services.AddSingleton<IServedModels, RegistryServedModels>();
        var host = builder.Build();
        await host.StartAsync();
        return new PipelineHost(host, directory);
    }

    /// <summary>Stops the host like a shutdown (running executions stay Executing, to resume), keeping the data.</summary>
    public async Task StopAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }

    public async Task<ExecutionDetail> RunAsync(string pipeline, object? parameters = null)
    {
        var id = await Executions.StartAsync(pipeline, Parameters(parameters), CancellationToken.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        return await Executions.WaitAsync(id, timeout.Token);
    }

    public static Dictionary<string, System.Text.Json.Nodes.JsonNode?>? Parameters(object? parameters) =>
        parameters is null
            ? null
            : System.Text.Json.JsonSerializer.SerializeToNode(parameters)!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value?.DeepClone());

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _host.StopAsync();
        }
        catch (ObjectDisposedException)
        {
            // Already stopped by the test.
        }
        _host.Dispose();
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Where the shared datasets are: beside the repository root (the folder holding Flotilla.slnx).</summary>
public static class SharedData
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string Folder { get; } = Path.GetFullPath(Path.Combine(RepositoryRoot, "..", "shared", "datasets"));

    public static string Dataset(string file) => Path.Combine(Folder, file);

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Flotilla.slnx")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"No Flotilla.slnx above {AppContext.BaseDirectory}.");
    }
}

/// <summary>
/// The champion as a host without a fleet can know it: the group's latest approved version in the real registry
/// (what the deployer would serve after the approval events).
/// </summary>
internal sealed class RegistryServedModels(ModelRegistry registry) : IServedModels
{
    public async Task<ServedModel?> GetAsync(string group, CancellationToken cancellationToken) =>
        await registry.GetLatestAsync(group, ApprovalStatus.Approved, cancellationToken) is { } package
            ? new ServedModel(package.Group, (int)package.Version, package.Id, package.Artifact.Sha256)
            : null;
}
