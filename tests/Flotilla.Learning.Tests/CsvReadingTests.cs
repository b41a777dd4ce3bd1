using Flotilla.Learning.Data;

namespace Flotilla.Learning.Tests;

public sealed class CsvReadingTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private Table Read(string content, string label = "label", bool bom = false, CsvOptions? options = null) =>
        TableReader.Read(_folder.Write("data.csv", content, bom), options ?? new CsvOptions(label), CancellationToken.None);

    private DataFormatException Refused(string content, string label = "label", CsvOptions? options = null) =>
        Assert.Throws<DataFormatException>(() => Read(content, label, options: options));

    [Fact]
    public void Quoted_fields_keep_commas_quotes_and_line_breaks()
    {
        var table = Read("name,\"size, cm\",label\n\"Smith, J.\",1.5,yes\n\"say \"\"hi\"\"\",2,no\n\"two\nlines\",3,yes\nplain,4,no\n");

        Assert.Equal(["name", "size, cm"], table.Columns.Select(c => c.Name));
        Assert.Equal(ColumnKind.Categorical, table.Columns[0].Kind);
        Assert.Equal("Smith, J.", table.Category(0, 0));
        Assert.Equal("say \"hi\"", table.Category(0, 1));
        Assert.Equal("two\nlines", table.Category(0, 2));
        Assert.Equal(4.0, table.Number(1, 3));
        Assert.Equal(4, table.RowCount);
    }

    [Fact]
    public void A_byte_order_mark_and_CRLF_line_ends_are_read_like_plain_LF()
    {
        var plain = Read("a,b,label\n1,2,0\n3,4,1\n");
        var windows = Read("a,b,label\r\n1,2,0\r\n3,4,1\r\n", bom: true);

        Assert.Equal(plain.Columns, windows.Columns);
        Assert.Equal("a", windows.Columns[0].Name);
        Assert.Equal(3.0, windows.Number(0, 1));
        Assert.True(windows.Label(1));
    }

    [Fact]
    public void Empty_NA_question_mark_and_null_are_missing_values()
    {
        var table = Read("x,city,label\n1,Paris,0\n,NA,1\nNA,?,0\n?,null,1\nnull,,0\n2.5,Rome,1\n");

        Assert.Equal(ColumnKind.Numeric, table.Columns[0].Kind);
        Assert.Equal(4, table.Columns[0].MissingCount);
        Assert.True(double.IsNaN(table.Number(0, 1)));
        Assert.Equal(ColumnKind.Categorical, table.Columns[1].Kind);
        Assert.Equal(4, table.Columns[1].MissingCount);
        Assert.Equal(["Paris", "Rome"], table.Columns[1].Categories);
        Assert.Null(table.Category(1, 2));
    }

    [Theory]
    [InlineData("M", "B", "B", "M")]
    [InlineData("yes", "no", "no", "yes")]
    [InlineData("<=50K", ">50K", "<=50K", ">50K")]
    [InlineData("1", "0", "0", "1")]
    [InlineData("True", "False", "False", "True")]
    [InlineData("-1", "1", "-1", "1")]
    public void String_labels_map_to_two_classes_and_record_the_mapping(string first, string second, string negative, string positive)
    {
        var table = Read($"f,target\n1,{first}\n2,{second}\n3,{first}\n", label: "target");

        Assert.Equal(new LabelMapping(negative, positive), table.LabelMapping);
        Assert.Equal(first == positive, table.Label(0));
        Assert.Equal(first == positive ? 2 : 1, table.PositiveCount);
    }

    [Fact]
    public void The_positive_label_can_be_chosen()
    {
        var table = Read("f,label\n1,M\n2,B\n", options: new CsvOptions("label") { PositiveLabel = "B" });

        Assert.Equal(new LabelMapping("M", "B"), table.LabelMapping);
        Assert.True(table.Label(1));
    }

    [Fact]
    public void Header_names_with_spaces_and_punctuation_and_excluded_columns()
    {
        var table = Read(" id ,mean radius (mm),% change,label\n7,1.5,-3%,0\n8,2.5,+4%,1\n",
            options: new CsvOptions("label") { Exclude = ["id"] });

        Assert.Equal(["mean radius (mm)", "% change"], table.Columns.Select(c => c.Name));
        Assert.Equal(ColumnKind.Categorical, table.Columns[1].Kind);
    }

    [Fact]
    public void Another_delimiter_can_be_used()
    {
        var table = Read("a;b;label\n1,5;x;0\n2;y;1\n", options: new CsvOptions("label") { Delimiter = ';' });

        Assert.Equal(ColumnKind.Categorical, table.Columns[0].Kind);
        Assert.Equal("1,5", table.Category(0, 0));
    }

    [Fact]
    public void A_missing_label_column_is_refused_naming_it_and_the_columns()
    {
        var error = Refused("a,b\n1,2\n", label: "CLASS");

        Assert.Contains("data.csv", error.Message);
        Assert.Contains("'CLASS'", error.Message);
        Assert.Contains("a, b", error.Message);
    }

    [Fact]
    public void A_label_with_one_class_is_refused()
    {
        var error = Refused("a,label\n1,yes\n2,yes\n");

        Assert.Contains("'label'", error.Message);
        Assert.Contains("two classes", error.Message);
    }

    [Fact]
    public void A_label_with_three_classes_is_refused_at_the_line_of_the_third()
    {
        var error = Refused("a,label\n1,x\n2,y\n3,x\n4,z\n");

        Assert.Contains("line 5", error.Message);
        Assert.Contains("'z'", error.Message);
    }

    [Fact]
    public void A_ragged_row_is_refused_with_its_line_number_counting_line_breaks_inside_quotes()
    {
        var error = Refused("a,b,label\n\"multi\nline\",1,0\n2,1\n3,4,1\n");

        Assert.Contains("data.csv, line 4", error.Message);
        Assert.Contains("found 2 fields", error.Message);
    }

    [Fact]
    public void An_empty_file_is_refused()
    {
        Assert.Contains("empty", Refused("").Message);
        Assert.Contains("no data rows", Refused("a,label\n").Message);
    }

    [Fact]
    public void A_file_over_the_size_limit_is_refused_before_parsing()
    {
        var error = Refused("a,label\n1,0\n2,1\n", options: new CsvOptions("label") { MaxBytes = 10 });

        Assert.Contains("larger than the limit of 10 bytes", error.Message);
    }

    [Fact]
    public void A_stream_over_the_size_limit_is_refused_too()
    {
        using var stream = new NonSeekableStream(new byte[5000]);

        var error = Assert.Throws<DataFormatException>(() =>
            TableReader.Read(stream, "upload.csv", new CsvOptions("label") { MaxBytes = 1000 }, CancellationToken.None));

        Assert.Contains("upload.csv", error.Message);
    }

    [Fact]
    public void An_entirely_empty_column_is_refused_naming_it()
    {
        var error = Refused("a,blank,label\n1,,0\n2,NA,1\n");

        Assert.Contains("column 'blank'", error.Message);
        Assert.Contains("Exclude", error.Message);
    }

    [Fact]
    public void A_missing_label_value_is_refused_with_its_line()
    {
        var error = Refused("a,label\n1,0\n2,\n");

        Assert.Contains("line 3", error.Message);
    }

    [Fact]
    public void An_unclosed_quote_is_refused_with_its_line()
    {
        var error = Refused("a,label\n1,0\n\"open,1\n");

        Assert.Contains("line 3", error.Message);
    }

    [Fact]
    public void The_hash_is_the_SHA256_of_the_file_bytes()
    {
        var path = _folder.Write("hashed.csv", "a,label\n1,0\n2,1\n");

        var table = TableReader.Read(path, new CsvOptions("label"), CancellationToken.None);

        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path))), table.Sha256);
    }

    [Fact]
    public void A_generated_mixed_file_reads_with_the_types_it_was_written_with()
    {
        var random = new Random(5);
        var lines = new List<string> { "n1,n2,c1,c2,label" };
        for (var i = 0; i < 2000; i++)
        {
            lines.Add($"{(random.Next(10) == 0 ? "" : random.NextDouble().ToString("R", System.Globalization.CultureInfo.InvariantCulture))}," +
                $"{random.Next(100)},cat{random.Next(5)},{(random.Next(7) == 0 ? "?" : "\"v, " + random.Next(3) + "\"")},{random.Next(2)}");
        }

        var table = Read(string.Join("\r\n", lines));

        Assert.Equal(2000, table.RowCount);
        Assert.Equal([ColumnKind.Numeric, ColumnKind.Numeric, ColumnKind.Categorical, ColumnKind.Categorical], table.Columns.Select(c => c.Kind));
        Assert.Equal(5, table.Columns[2].Categories.Count);
        Assert.All(table.Columns[3].Categories, c => Assert.StartsWith("v, ", c));
        Assert.True(table.Columns[0].MissingCount > 100);
    }

    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
