using System.Net.Http.Json;
using System.Text.Json;
using Flotilla.Registry;
using Flotilla.Storage;
using Flotilla.Storage.Artifacts;
using Flotilla.Storage.Tests;
using Flotilla.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Cluster.Tests.Harness;

/// <summary>
/// Several machines with no shared disk, as a team runs Flotilla: one network namespace per server with its own
/// address and a private tmpfs data folder, a PostgreSQL server and an S3-compatible store (s3rver) on the host's
/// bridge address, and real `flotilla server` processes in the cluster shape. Tests break it on purpose:
/// <see cref="KillAsync"/> (SIGKILL), <see cref="PauseAsync"/> (SIGSTOP), <see cref="CutAsync"/> (the cable),
/// <see cref="LimitCpu"/> (a cgroup quota). Everything it made is removed on dispose.
/// </summary>
internal sealed class ClusterHarness : IAsyncDisposable
{
    private readonly Network _network;
    private readonly PostgresServer _postgres;
    private readonly S3rverServer _s3;
    private readonly string _root;
    private readonly string[] _settings;
    private readonly List<Machine> _machines = [];
    private readonly ServerProcess?[] _servers;
    private readonly Dictionary<int, CpuQuota> _quotas = [];
    private ServiceProvider? _stores;

    private ClusterHarness(Network network, PostgresServer postgres, S3rverServer s3, string database, string root, string[] settings, int servers)
    {
        _servers = new ServerProcess?[servers];
        _network = network;
        _postgres = postgres;
        _s3 = s3;
        Database = database;
        _root = root;
        _settings = settings;
    }

    /// <summary>The connection string of the cluster's database, as the servers use it.</summary>
    public string Database { get; }

    public string ClusterId { get; } = $"harness-{Guid.NewGuid():N}";

    /// <summary>The admin key the first server created (the deployment's bootstrap key; every server accepts it).</summary>
    public string AdminKey { get; private set; } = "";

    public IReadOnlyList<ServerProcess> Servers => [.. _servers.OfType<ServerProcess>()];

    public S3ArtifactOptions S3 => new()
    {
        Bucket = S3rverServer.Bucket, ServiceUrl = _s3.ServiceUrl, AccessKey = "S3RVER", SecretKey = "S3RVER",
    };

    /// <summary>
    /// Starts the stores and <paramref name="servers"/> servers (machines "a", "b", "c"…) and waits until each is
    /// healthy and sees every other as an active instance. <paramref name="settings"/> go to every server,
    /// after the harness's own (so a test can override them), e.g. <c>--Flotilla:Fleet:HotModelCallsPerSecond=0</c>.
    /// </summary>
    public static async Task<ClusterHarness> StartAsync(int servers, params string[] settings)
    {
        var network = await Network.CreateAsync();
        var root = Directory.CreateTempSubdirectory("flotilla-harness-").FullName;
        PostgresServer? postgres = null;
        S3rverServer? s3 = null;
        ClusterHarness? harness = null;
        try
        {
            postgres = await PostgresServer.StartAsync(CancellationToken.None, network.HostAddress);
            s3 = new S3rverServer { Address = network.HostAddress };
            await s3.InitializeAsync();
            harness = new ClusterHarness(network, postgres, s3, await postgres.CreateDatabaseAsync("cluster"), root, settings, servers);
            for (var i = 0; i < servers; i++)
            {
                var machine = await network.AddMachineAsync(((char)('a' + i)).ToString());
                harness._machines.Add(machine);
                harness._quotas[i] = CpuQuota.Create(machine.Namespace);
            }
            // The first server migrates the schema and creates the admin key; the others then start side by side.
            await harness.StartServerAsync(0);
            await Task.WhenAll(Enumerable.Range(1, servers - 1).Select(harness.StartServerAsync));
            harness.AdminKey = harness._servers.Select(s => s!.ReadAdminKey()).FirstOrDefault(k => k is not null)
                ?? throw new InvalidOperationException("No server wrote an admin key into its data folder.");
            await harness.WaitForInstancesAsync(servers, Enumerable.Range(0, servers));
            return harness;
        }
        catch
        {
            if (harness is not null)
            {
                await harness.DisposeAsync();
            }
            else
            {
                await (s3?.DisposeAsync() ?? Task.CompletedTask);
                await (postgres?.DisposeAsync() ?? ValueTask.CompletedTask);
                await network.DisposeAsync();
            }
            throw;
        }
    }

    /// <summary>
    /// Starts server <paramref name="index"/> again on its machine after it was killed: a fresh process with an
    /// empty data folder (its disk did not survive), the same address, the same settings.
    /// </summary>
    public async Task RestartAsync(int index)
    {
        await _servers[index]!.DisposeAsync();
        await StartServerAsync(index);
    }

    public HttpClient Client(int server, TimeSpan? timeout = null) => _servers[server]!.Client(AdminKey, timeout);

    public Task KillAsync(int server) => _servers[server]!.KillAsync();

    public Task PauseAsync(int server) => _servers[server]!.PauseAsync();

    public Task ResumeAsync(int server) => _servers[server]!.ResumeAsync();

    public Task CutAsync(int server) => Network.CutAsync(_machines[server]);

    public Task HealAsync(int server) => Network.HealAsync(_machines[server]);

    public Task DelayAsync(int server, TimeSpan delay) => Network.DelayAsync(_machines[server], delay);

    /// <summary>Holds server <paramref name="server"/> to <paramref name="cores"/> cores (null: unlimited).</summary>
    public void LimitCpu(int server, double? cores) => _quotas[server].Limit(cores);

    /// <summary>Which server a silo address printed by <c>/api/endpoint</c> belongs to, or -1.</summary>
    public int ServerOf(string silo) => _machines.FindIndex(m => silo.Contains($"{m.Address}:", StringComparison.Ordinal));

    /// <summary>The registry and the artifact store of the cluster, as a server reaches them (for arranging state).</summary>
    public ModelRegistry Registry => Stores.GetRequiredService<ModelRegistry>();

    public IArtifactStore Artifacts => Stores.GetRequiredService<IArtifactStore>();

    /// <summary>Stores <paramref name="artifact"/> in the bucket and registers it as the next version of <paramref name="group"/>.</summary>
    public async Task<ModelPackage> RegisterAsync(string group, byte[] artifact, ApprovalStatus status)
    {
        var reference = await Artifacts.PutAsync(artifact, CancellationToken.None);
        using var empty = JsonDocument.Parse("{}");
        return await Registry.RegisterAsync(
            new RegisterModelPackage(group, reference, empty.RootElement.Clone(), empty.RootElement.Clone(), new PackageLineage(null, null, null), status),
            CancellationToken.None);
    }

    public async Task<JsonElement> EndpointAsync(int server)
    {
        using var client = Client(server, TimeSpan.FromSeconds(15));
        return await client.GetFromJsonAsync<JsonElement>("/api/endpoint");
    }

    /// <summary>Waits until every server in <paramref name="observers"/> lists exactly <paramref name="count"/> answering instances.</summary>
    public Task WaitForInstancesAsync(int count, IEnumerable<int> observers, TimeSpan? within = null) =>
        Task.WhenAll(observers.Select(server => Eventually.ValueAsync(
            async () =>
            {
                try
                {
                    return (await EndpointAsync(server)).GetProperty("instances").EnumerateArray()
                        .Count(i => i.GetProperty("error").ValueKind == JsonValueKind.Null);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    return -1;
                }
            },
            answering => answering == count, $"server {server} lists {count} answering instances",
            within ?? TimeSpan.FromMinutes(2), TimeSpan.FromMilliseconds(200), () => _servers[server]?.Output ?? "")));

    /// <summary>Every server's output, for a failure message.</summary>
    public string Logs() => string.Join("\n", Servers.Select(s => $"==== server {s.Machine.Name} ({s.Address})\n{s.Output}"));

    private ServiceProvider Stores => _stores ??= new ServiceCollection()
        .AddLogging()
        .AddFlotillaStorage(o =>
        {
            o.DataDirectory = Path.Combine(_root, "harness");
            o.PostgresConnectionString = Database;
            o.S3 = S3;
        })
        .AddFlotillaRegistry()
        .BuildServiceProvider();

    private async Task StartServerAsync(int index)
    {
        var machine = _machines[index];
        var quota = _quotas[index];
        string[] settings =
        [
            "--Flotilla:Shape=Cluster",
            $"--Flotilla:PostgresConnectionString={Database}",
            $"--Flotilla:S3:Bucket={S3rverServer.Bucket}", $"--Flotilla:S3:ServiceUrl={_s3.ServiceUrl}",
            "--Flotilla:S3:AccessKey=S3RVER", "--Flotilla:S3:SecretKey=S3RVER",
            $"--Flotilla:Fleet:ClusterId={ClusterId}", $"--Flotilla:Fleet:AdvertisedAddress={machine.Address}",
            "--Flotilla:Fleet:SiloPort=11111", "--Flotilla:Fleet:GatewayPort=30000",
            .. _settings,
        ];
        var server = _servers[index] = ServerProcess.Start(machine, Path.Combine(_root, machine.Name), quota, settings);
        await server.WaitHealthyAsync();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var server in Servers)
        {
            await server.DisposeAsync();
        }
        foreach (var quota in _quotas.Values)
        {
            quota.Dispose();
        }
        await (_stores?.DisposeAsync() ?? ValueTask.CompletedTask);
        await _s3.DisposeAsync();
        await _postgres.DisposeAsync();
        await _network.DisposeAsync();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }
}
