using Flotilla.Cli.Demo;

namespace Flotilla.Server.Tests.Cli;

public sealed class ExampleDatasetsTests
{
    [Fact]
    public void The_demo_datasets_are_the_same_bytes_on_every_run()
    {
        var first = ExampleDatasets.Generate();
        var second = ExampleDatasets.Generate();

        Assert.Equal(first.Select(d => d.Csv), second.Select(d => d.Csv));
        Assert.Equal(["churn", "credit"], first.Select(d => d.Name));
    }

    [Theory]
    [InlineData(0, "yes", "no", "contract", "month-to-month")]
    [InlineData(1, "1", "0", "home_ownership", "rent")]
    public void Each_demo_dataset_has_both_labels_a_category_and_missing_cells(int index, string positive, string negative, string category, string value)
    {
        var dataset = ExampleDatasets.Generate()[index];
        var lines = dataset.Csv.TrimEnd().Split('\n');
        var header = lines[0].Split(',');
        var rows = lines[1..].Select(l => l.Split(',')).ToList();
        var target = Array.IndexOf(header, dataset.Target);

        Assert.True(rows.Count >= 500);
        Assert.All(rows, r => Assert.Equal(header.Length, r.Length));
        var labels = rows.Select(r => r[target]).ToList();
        Assert.InRange(labels.Count(l => l == positive) / (double)rows.Count, 0.15, 0.85);
        Assert.Equal(rows.Count, labels.Count(l => l == positive || l == negative));
        Assert.Contains(rows, r => r.Contains(""));
        Assert.Contains(rows, r => r[Array.IndexOf(header, category)] == value);
        Assert.All(dataset.Exclude, column => Assert.Contains(column, header));
    }

    [Fact]
    public void The_sample_rows_hold_the_features_without_the_id_or_the_label()
    {
        foreach (var dataset in ExampleDatasets.Generate())
        {
            var sampleHeader = dataset.SampleCsv.Split('\n')[0].Split(',');
            Assert.DoesNotContain(dataset.Target, sampleHeader);
            Assert.All(dataset.Exclude, column => Assert.DoesNotContain(column, sampleHeader));
            Assert.True(dataset.SampleCsv.TrimEnd().Split('\n').Length > 2);
        }
    }
}
