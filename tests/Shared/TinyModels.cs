using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;

namespace Flotilla.Testing;

/// <summary>
/// Small real models, trained by the learning core on a generated table: two numbers and a colour, and a
/// label "big" when width + height exceeds 10. Each seed gives different data, hence a different artifact.
/// </summary>
internal static class TinyModels
{
    private static readonly ConcurrentDictionary<int, byte[]> Cache = new();

    public const string Row = "7.5,6.0,red";

    public static byte[] Artifact(int seed) => Cache.GetOrAdd(seed, s => ModelArtifact.Serialize(Train(s)));

    /// <summary>
    /// The model of <paramref name="seed"/> labelling a row positive only when P(positive) ≥ <paramref name="decisionThreshold"/>
    /// (the positive class is "small": the second value in ordinal order).
    /// </summary>
    public static byte[] Artifact(int seed, double decisionThreshold) =>
        ModelArtifact.Serialize(Train(seed).WithDecisionThreshold(decisionThreshold, decisionThreshold.ToString("R", CultureInfo.InvariantCulture)));

    private static TrainedModel Train(int seed)
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
        return AlgorithmCatalog.Get("NaiveBayes").Fit(table, HyperParameters.Empty, seed, CancellationToken.None);
    }
}
