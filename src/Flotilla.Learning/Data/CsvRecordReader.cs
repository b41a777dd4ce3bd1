using System.Text;

namespace Flotilla.Learning.Data;

/// <summary>
/// Physical lines of a stream joined into CSV records: a record goes on while a quote is open, so a quoted line break
/// stays inside its field. Blank lines are skipped, as the table reader does; a byte order mark is dropped.
/// </summary>
internal sealed class CsvRecordReader(TextReader input)
{
    private readonly StringBuilder _record = new();

    private int _line;

    /// <summary>The physical line (1-based) on which the record returned last began.</summary>
    public int RecordLine { get; private set; }

    public async ValueTask<string?> NextRecordAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var line = await input.ReadLineAsync(cancellationToken);
            if (line is null)
            {
                return null;
            }

            _line++;
            if (_line == 1 && line.Length > 0 && line[0] == '\uFEFF')
            {
                line = line[1..];
            }

            if (line.Length == 0 || line.AsSpan().Trim().IsEmpty)
            {
                continue;
            }

            RecordLine = _line;
            if (line.AsSpan().Count('"') % 2 == 0)
            {
                return line;
            }

            _record.Clear().Append(line);
            var quotes = line.AsSpan().Count('"');
            while (quotes % 2 == 1)
            {
                var more = await input.ReadLineAsync(cancellationToken);
                if (more is null)
                {
                    return _record.ToString();
                }

                _line++;
                _record.Append('\n').Append(more);
                quotes += more.AsSpan().Count('"');
            }

            return _record.ToString();
        }
    }
}
