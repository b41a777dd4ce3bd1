using Flotilla.Learning.Data;

namespace Flotilla.Learning.Tests;

public sealed class SplitTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void A_stratified_split_keeps_the_label_balance_and_the_test_size()
    {
        var table = Datasets.BreastCancer;

        var (train, test) = table.Split(0.2, stratify: true, seed: 42);

        Assert.Equal(114, test.RowCount);
        Assert.Equal(table.RowCount, train.RowCount + test.RowCount);
        var share = table.PositiveCount / (double)table.RowCount;
        Assert.InRange(test.PositiveCount / (double)test.RowCount, share - 0.01, share + 0.01);
        Assert.InRange(train.PositiveCount / (double)train.RowCount, share - 0.01, share + 0.01);
    }

    [Fact]
    public void The_same_seed_gives_the_same_split_bit_for_bit_and_another_seed_another_split()
    {
        var table = Datasets.Banknote;

        var first = table.Split(0.25, stratify: true, seed: 7);
        var second = table.Split(0.25, stratify: true, seed: 7);
        var other = table.Split(0.25, stratify: true, seed: 8);

        Assert.Equal(first.Test.Sha256, second.Test.Sha256);
        Assert.Equal(first.Train.Sha256, second.Train.Sha256);
        Assert.NotEqual(first.Test.Sha256, other.Test.Sha256);
    }

    [Fact]
    public void Train_and_test_partition_the_rows()
    {
        var path = _folder.Write("ids.csv", "id,label\n" + string.Join("\n", Enumerable.Range(0, 101).Select(i => $"{i},{i % 3 == 0}")));
        var table = TableReader.Read(path, new CsvOptions("label"), CancellationToken.None);

        var (train, test) = table.Split(0.3, stratify: false, seed: 1);

        var ids = Enumerable.Range(0, train.RowCount).Select(r => train.Number(0, r))
            .Concat(Enumerable.Range(0, test.RowCount).Select(r => test.Number(0, r)));
        Assert.Equal(Enumerable.Range(0, 101).Select(i => (double)i), ids.Order());
        Assert.Equal(31, test.RowCount);
    }

    [Fact]
    public void A_written_split_reads_back_identically()
    {
        var source = _folder.Write("mixed.csv",
            "x,\"city, country\",label,note\n1.5,\"Paris, FR\",M,a\n,Rome,B,\"say \"\"hi\"\"\"\n3,NA,M,b\n4.25,Oslo,B,\n5,Paris,M,a\n6,Rome,B,c\n");
        var table = TableReader.Read(source, new CsvOptions("label"), CancellationToken.None);
        var (train, test) = table.Split(0.5, stratify: true, seed: 3);

        foreach (var part in new[] { train, test })
        {
            var path = Path.Combine(_folder.Path, Guid.NewGuid() + ".csv");
            part.WriteCsv(path);
            var again = TableReader.Read(path, new CsvOptions("label"), CancellationToken.None);

            Assert.Equal(part.Sha256, again.Sha256);
            Assert.Equal(part.LabelMapping, again.LabelMapping);
            Assert.Equal(part.RowCount, again.RowCount);
            Assert.Equal("x,\"city, country\",label,note", File.ReadLines(path).First());
            for (var r = 0; r < part.RowCount; r++)
            {
                Assert.Equal(part.Label(r), again.Label(r));
                Assert.Equal(part.Number(0, r), again.Number(0, r));
            }
        }
    }

    [Fact]
    public void A_test_size_outside_zero_and_one_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Datasets.Banknote.Split(1.2, true, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Datasets.Banknote.Split(0, true, 1));
    }
}
