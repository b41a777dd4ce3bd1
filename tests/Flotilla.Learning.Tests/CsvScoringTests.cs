using System.Text;
using System.Text.Json;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;

namespace Flotilla.Learning.Tests;

/// <summary>Streaming batch scoring: the same answers as the in-memory scorer, whatever the column order, quoting or chunk size.</summary>
public sealed class CsvScoringTests
{
    private static readonly Lazy<LoadedModel> Model = new(() =>
    {
        var csv = new StringBuilder("age,city,income,label\n");
        var random = new Random(9);
        string[] cities = ["Oslo", "Rome", "Lima, PE"];
        for (var i = 0; i < 200; i++)
        {
            var city = cities[random.Next(3)];
            var age = 20 + random.Next(50);
            csv.Append(FormattableString.Invariant($"{age},\"{city}\",{random.Next(1000)},{(age > 45 || city == "Rome" ? ">50K" : "<=50K")}\n"));
        }
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(csv.ToString()));
        var table = TableReader.Read(stream, "adult.csv", new CsvOptions("label"), CancellationToken.None);
        var bytes = ModelArtifact.Serialize(AlgorithmCatalog.Get("LogisticRegression").Fit(table, HyperParameters.Empty, 1, CancellationToken.None));
        return ModelArtifact.Load(bytes, ModelArtifact.Sha256(bytes));
    });

    private static async Task<(long Rows, string Output)> ScoreAsync(string csv, int chunkRows = 3)
    {
        using var input = new StringReader(csv);
        await using var output = new StringWriter();
        var rows = await CsvScoring.ScoreAsync(Model.Value, input, output, "test.csv", null, CancellationToken.None, chunkRows);
        return (rows, output.ToString());
    }

    [Fact]
    public async Task Rows_keep_their_text_and_get_the_label_and_probability_the_json_scorer_gives_with_columns_in_any_order()
    {
        var csv = "id,income,city,age\n1,500,\"Lima, PE\",30\n2,10,Rome,50\n\n3,999,\"Os\nlo\",?\n4,20,Oslo,61\n";

        var (rows, output) = await ScoreAsync(csv);

        Assert.Equal(4, rows);
        var lines = output.Split('\n');
        Assert.Equal("id,income,city,age,label,probability", lines[0]);
        Assert.StartsWith("1,500,\"Lima, PE\",30,", lines[1]);
        Assert.StartsWith("3,999,\"Os", lines[3]);
        Assert.StartsWith("lo\",?,", lines[4]);
        using var json = JsonDocument.Parse("""
            [{"age": 30, "city": "Lima, PE", "income": 500}, {"age": 50, "city": "Rome", "income": 10},
             {"age": null, "city": "Os\nlo", "income": 999}, {"age": 61, "city": "Oslo", "income": 20}]
            """);
        var expected = Model.Value.PredictJson(json.RootElement);
        string[] scored = [lines[1], lines[2], lines[4], lines[5]];
        for (var i = 0; i < expected.Count; i++)
        {
            var fields = scored[i].Split(',');
            Assert.Equal(expected[i].Label, fields[^2]);
            Assert.Equal(expected[i].Probability, double.Parse(fields[^1], System.Globalization.CultureInfo.InvariantCulture), 12);
        }
    }

    [Fact]
    public async Task A_long_file_is_scored_without_allocating_per_row()
    {
        // A batch job runs beside live calls in the same process: garbage it made per row would have the collector
        // stop those calls ever more often. Input and output here complete synchronously, so a whole run is on this
        // thread and its allocations are counted; a run's buffers are the same for any length of file, so twice the
        // rows must cost (almost) nothing more.
        static string Rows(int count)
        {
            var csv = new StringBuilder("age,city,income\n");
            for (var i = 0; i < count; i++)
            {
                csv.Append(FormattableString.Invariant($"{20 + (i % 50)},{(i % 3 == 0 ? "\"Lima, PE\"" : "Oslo")},{i % 1000}\n"));
            }
            return csv.ToString();
        }

        static async Task<long> AllocatedAsync(string text)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            await CsvScoring.ScoreAsync(Model.Value, new StringReader(text), TextWriter.Null, "long.csv", null, CancellationToken.None);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        var (shorter, longer) = (Rows(20_000), Rows(40_000));
        await AllocatedAsync(shorter);

        var perRow = (double)(await AllocatedAsync(longer) - await AllocatedAsync(shorter)) / 20_000;

        Assert.True(perRow < 1, $"{perRow:F1} bytes allocated per row");
    }

    [Fact]
    public async Task A_header_without_a_feature_is_refused_naming_the_missing_columns_and_the_files()
    {
        var error = await Assert.ThrowsAsync<ColumnMismatchException>(() => ScoreAsync("age,town,label\n30,Oslo,x\n"));

        Assert.Equal(["city", "income"], error.Missing);
        Assert.Contains("'city', 'income'", error.Message);
        Assert.Contains("the file has age, town, label", error.Message);
    }

    [Fact]
    public async Task A_bad_value_is_refused_with_its_row_and_column()
    {
        var error = await Assert.ThrowsAsync<InvalidRowException>(() => ScoreAsync("age,city,income\n30,Oslo,1\n31,Rome,lots\n"));

        Assert.Contains("row 2, column 'income': 'lots' is not a number", error.Message);
    }

    [Fact]
    public void An_invocations_rows_read_for_capture_are_what_the_model_scored_whatever_the_format()
    {
        var schema = Model.Value.Schema;
        var csvRows = InvocationRows.FromCsv(schema, "age,city,income\n30,\"Lima, PE\",500\n\n61,?,20\n");
        using var json = JsonDocument.Parse("""[{"age": 30, "city": "Lima, PE", "income": "500"}, {"age": 61, "city": null, "income": 20, "label": ">50K"}]""");
        var jsonRows = InvocationRows.FromJson(schema, json.RootElement);

        Assert.Equal(2, csvRows.Count);
        Assert.Equal(csvRows.Select(r => r.ToList()), jsonRows.Select(r => r.ToList()));
        Assert.Equal([new RowValue(30, null), new RowValue(null, "Lima, PE"), new RowValue(500, null)], csvRows[0]);
        Assert.True(csvRows[1][1].IsMissing);
        Assert.Equal(Model.Value.PredictCsv("30,\"Lima, PE\",500\n61,?,20").Count, csvRows.Count);
    }

    [Fact]
    public async Task A_file_to_score_is_scanned_as_a_stream_typed_per_column_and_a_bad_record_is_named_by_its_line()
    {
        var path = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(path, "id,city,income\n1,\"Os\nlo\",5\n\n2,Rome,NA\n3,Rome,7.5\n");
            var scanned = await CsvScan.ReadAsync(path, "score.csv", CancellationToken.None);
            Assert.Equal(3, scanned.Rows);
            Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(path))), scanned.Sha256);
            Assert.Equal([ColumnKind.Numeric, ColumnKind.Categorical, ColumnKind.Numeric], scanned.Columns.Select(c => c.Kind));
            Assert.Equal(["Os\nlo", "Rome"], scanned.Columns[1].Categories);
            Assert.Equal(1, scanned.Columns[2].Missing);

            await File.WriteAllTextAsync(path, "id,city\n1,\"Os\nlo\"\n2,Rome,7\n");
            var error = await Assert.ThrowsAsync<DataFormatException>(() => CsvScan.ReadAsync(path, "score.csv", CancellationToken.None));
            Assert.StartsWith("score.csv, line 4: found 3 fields", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
