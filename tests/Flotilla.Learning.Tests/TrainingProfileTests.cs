using System.Globalization;
using System.Text;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;

namespace Flotilla.Learning.Tests;

/// <summary>The training profile the endpoint measures drift against: quantile bins, categories, missing and unseen shares, scores.</summary>
public sealed class TrainingProfileTests
{
    private static Table Read(string csv) =>
        TableReader.Read(new MemoryStream(Encoding.UTF8.GetBytes(csv)), "profile.csv", new CsvOptions("label"), CancellationToken.None);

    private static string Rows(int count, int seed, string[] cities)
    {
        var csv = new StringBuilder("age,city,label\n");
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            var age = random.Next(10) == 0 ? "" : (20 + random.Next(50)).ToString(CultureInfo.InvariantCulture);
            csv.Append(CultureInfo.InvariantCulture, $"{age},{cities[random.Next(cities.Length)]},{(random.Next(2) == 0 ? "yes" : "no")}\n");
        }
        return csv.ToString();
    }

    [Fact]
    public void Numbers_get_quantile_bins_and_a_missing_share_and_text_its_categories_with_other_and_unseen()
    {
        var train = Read(Rows(1000, 1, ["Oslo", "Rome", "Lima"]));
        var bytes = ModelArtifact.Serialize(AlgorithmCatalog.Get("NaiveBayes").Fit(train, HyperParameters.Empty, 1, CancellationToken.None));
        var model = ModelArtifact.Load(bytes, ModelArtifact.Sha256(bytes));
        var test = Read(Rows(200, 2, ["Oslo", "Rome", "Lima", "Kyiv"]));

        var profile = TrainingProfile.Compute(model, train, test);

        var age = profile.Features.Single(f => f.Name == "age");
        Assert.Equal(ColumnKind.Numeric, age.Kind);
        Assert.Equal(TrainingProfile.NumericBins - 1, age.Edges.Count);
        Assert.InRange(age.MissingShare, 0.07, 0.13);
        Assert.All(age.Shares, share => Assert.InRange(share, 0.05, 0.13));
        Assert.Equal(1, age.Shares.Sum() + age.MissingShare, 9);
        var city = profile.Features.Single(f => f.Name == "city");
        Assert.Equal(3, city.Categories.Count);
        Assert.Equal(4, city.Shares.Count);
        Assert.Equal(0, city.Shares[^1]);
        Assert.Equal(0, city.UnseenShare);
        // A live value is binned the same way: an unseen category (-1) falls in "other", an edge value in the bin above it.
        Assert.Equal(3, city.Slot(-1));
        Assert.Equal(1, age.Slot((float)age.Edges[0]));
        Assert.Equal(0, age.Slot((float)age.Edges[0] - 0.5f));
        Assert.Equal(1, profile.ScoreShares.Sum(), 9);
        Assert.Equal(200, profile.TestRows);
        Assert.InRange(profile.PositiveShare, 0.4, 0.6);
    }
}
