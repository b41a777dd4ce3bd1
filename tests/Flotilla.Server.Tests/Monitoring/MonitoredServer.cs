using System.Globalization;
using System.Text;
using System.Text.Json;
using Flotilla.Fleet;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;
using Flotilla.Registry;
using Flotilla.Storage.Artifacts;
using Flotilla.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Server.Tests.Monitoring;

/// <summary>
/// A running server with group <see cref="Group"/> deployed: a small real model (width, height, colour → big or
/// small) registered with the training profile of the rows <see cref="Rows"/> draws, as the built-in pipeline's
/// Evaluate step would store it. Drift is evaluated every 200 ms and needs 50 rows.
/// </summary>
public sealed class MonitoredServer : IAsyncLifetime
{
    private string[] _settings = [];

    public const string Group = "multimodel-watched";

    public RunningServer Server { get; private set; } = null!;

    public LoadedModel Model { get; } = ModelArtifact.Load(TinyModels.Artifact(1), ModelArtifact.Sha256(TinyModels.Artifact(1)));

    public ModelPackage Package { get; private set; } = null!;

    public HttpClient Client => Server.Client;

    public async Task InitializeAsync()
    {
        Server = await RunningServer.StartAsync(
            ["--Flotilla:Endpoint:Monitoring:EvaluateInterval=00:00:00.200", "--Flotilla:Endpoint:Monitoring:MinRows=50", .. _settings]);
        var profile = TrainingProfile.Compute(Model, Table(Rows(new Random(11), 600, widthShift: 0)), Table(Rows(new Random(12), 200, widthShift: 0)));
        var evaluation = JsonSerializer.SerializeToElement(new { auc = 0.9, profile }, EvaluationReport.JsonOptions);
        var reference = await Server.Services.GetRequiredService<IArtifactStore>().PutAsync(TinyModels.Artifact(1), CancellationToken.None);
        using var empty = JsonDocument.Parse("{}");
        Package = await Server.Services.GetRequiredService<ModelRegistry>().RegisterAsync(
            new RegisterModelPackage(Group, reference, evaluation, empty.RootElement.Clone(), new PackageLineage(null, null, null), ApprovalStatus.Approved),
            CancellationToken.None);
        var fleet = Server.Services.GetRequiredService<FleetClient>();
        await Eventually.TrueAsync(() => fleet.TryResolve(Group, out _), $"{Group} is deployed after its approval");
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();

    /// <summary>One started for a single test, with more settings.</summary>
    public static async Task<MonitoredServer> StartAsync(params string[] settings)
    {
        var server = new MonitoredServer { _settings = settings };
        await server.InitializeAsync();
        return server;
    }

    /// <summary>Rows like the model's training data (width and height uniform in [0, 10), one of three colours), width moved by <paramref name="widthShift"/>; the label by the model's rule.</summary>
    public static List<(double Width, double Height, string Color, string Label)> Rows(Random random, int count, double widthShift)
    {
        string[] colors = ["red", "green", "blue"];
        return [.. Enumerable.Range(0, count).Select(_ =>
        {
            var width = random.NextDouble() * 10 + widthShift;
            var height = random.NextDouble() * 10;
            return (width, height, colors[random.Next(3)], width + height + (random.NextDouble() - 0.5) * 4 > 10 ? "big" : "small");
        })];
    }

    public static string Csv((double Width, double Height, string Color, string Label) row) =>
        string.Create(CultureInfo.InvariantCulture, $"{row.Width:F3},{row.Height:F3},{row.Color}");

    public static Table Table(IEnumerable<(double Width, double Height, string Color, string Label)> rows)
    {
        var csv = new StringBuilder("width,height,color,label\n");
        foreach (var row in rows)
        {
            csv.Append(Csv(row)).Append(',').Append(row.Label).Append('\n');
        }
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(csv.ToString()));
        return TableReader.Read(stream, "rows.csv", new CsvOptions("label"), CancellationToken.None);
    }
}
