using System.Text;
using Flotilla.Learning.Data;

namespace Flotilla.Learning.Tests;

/// <summary>Records out of one reused buffer: the same records and line numbers whatever the buffer and chunk sizes.</summary>
public sealed class CsvChunkReaderTests
{
    /// <summary>
    /// A messy file built from known records: quoted fields holding commas, doubled quotes and every kind of line
    /// break; LF, CRLF and CR between records; blank and all-space lines; a byte order mark; no break after the last.
    /// </summary>
    private static (string Text, List<(string Record, int Line)> Expected) Messy(int records, int seed)
    {
        var random = new Random(seed);
        string[] breaks = ["\n", "\r\n", "\r"];
        var text = new StringBuilder("\uFEFF");
        var expected = new List<(string, int)>();
        var line = 1;
        for (var r = 0; r < records; r++)
        {
            if (random.Next(6) == 0)
            {
                // An empty line ended by LF right after a CR would make one CRLF break of the two.
                var spaces = random.Next(2) == 0;
                text.Append(spaces ? "   " : "").Append(spaces ? breaks[random.Next(3)] : breaks[1 + random.Next(2)]);
                line++;
            }

            var record = new StringBuilder();
            var inner = 0;
            for (var f = 0; f < 1 + random.Next(5); f++)
            {
                if (f > 0)
                {
                    record.Append(',');
                }

                switch (random.Next(4))
                {
                    case 0:
                        record.Append(random.Next(100_000));
                        break;
                    case 1:
                        var lineBreak = breaks[random.Next(3)];
                        record.Append("\"a, \"\"b\"\"").Append(lineBreak).Append("c\"");
                        inner++;
                        break;
                    case 2:
                        record.Append(new string('x', random.Next(40)));
                        break;
                    default:
                        record.Append(" \"quoted\" ");
                        break;
                }
            }

            if (record.ToString().AsSpan().IsWhiteSpace())
            {
                record.Append('0');
            }

            expected.Add((record.ToString(), line));
            text.Append(record);
            line += inner;
            if (r < records - 1)
            {
                text.Append(breaks[random.Next(3)]);
                line++;
            }
        }

        return (text.ToString(), expected);
    }

    private static async Task<List<(string Record, int Line)>> ReadAllAsync(string text, int bufferChars, int chunkRecords)
    {
        var reader = new CsvChunkReader(new StringReader(text), bufferChars);
        var read = new List<(string, int)>();
        while (await reader.ReadAsync(chunkRecords, CancellationToken.None) is var count and > 0)
        {
            Assert.InRange(count, 1, chunkRecords);
            for (var i = 0; i < count; i++)
            {
                read.Add((reader.Record(i).ToString(), reader.Line(i)));
            }
        }

        return read;
    }

    [Theory]
    [InlineData(16, 1)]
    [InlineData(17, 3)]
    [InlineData(64, 7)]
    [InlineData(1 << 16, 1000)]
    public async Task Every_record_comes_back_whole_with_the_line_it_began_on_whatever_the_buffer_and_chunk(int bufferChars, int chunkRecords)
    {
        var (text, expected) = Messy(500, seed: bufferChars);

        var read = await ReadAllAsync(text, bufferChars, chunkRecords);

        Assert.Equal(expected, read);
    }

    [Fact]
    public async Task A_record_longer_than_the_buffer_grows_it_and_an_unclosed_quote_at_the_end_is_the_last_record()
    {
        var longField = new string('y', 1000);
        var text = $"a,b\r\n{longField},1\n\n2,\"open";

        var read = await ReadAllAsync(text, 16, 10);

        Assert.Equal([("a,b", 1), ($"{longField},1", 2), ("2,\"open", 4)], read);
    }

    [Fact]
    public async Task A_CR_at_the_end_of_a_fill_waits_for_the_next_one_to_tell_a_CRLF_from_a_CR()
    {
        // 15 characters and a CR fill a 16-character buffer exactly; the LF comes with the next read.
        var text = "123456789012345\r\nnext\rlast";

        var read = await ReadAllAsync(text, 16, 10);

        Assert.Equal([("123456789012345", 1), ("next", 2), ("last", 3)], read);
    }
}
