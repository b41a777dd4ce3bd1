using System.Buffers;

namespace Flotilla.Learning.Data;

/// <summary>
/// The CSV records of a stream, a chunk at a time, out of one reused buffer: a record goes on while a quote is open,
/// so a quoted line break stays inside its field; blank lines are skipped, as the table reader does; a byte order
/// mark is dropped. A chunk's records are slices of the buffer, valid until the next read, and nothing is allocated
/// per record: a job streaming a large file beside live calls makes no garbage for the collector to stop them for.
/// </summary>
internal sealed class CsvChunkReader(TextReader input, int bufferChars = 1 << 16)
{
    private static readonly SearchValues<char> Structural = SearchValues.Create("\"\n\r");

    private readonly List<(int Start, int Length, int Line)> _records = [];
    private char[] _buffer = new char[Math.Max(bufferChars, 16)];
    private int _start;
    private int _filled;
    private bool _ended;
    private bool _atFileStart = true;
    private int _line = 1;

    /// <summary>Records in the chunk read last.</summary>
    public int Count => _records.Count;

    /// <summary>Record <paramref name="index"/> of the chunk read last, without its line break.</summary>
    public ReadOnlyMemory<char> Record(int index) => _buffer.AsMemory(_records[index].Start, _records[index].Length);

    /// <summary>The physical line (1-based) on which record <paramref name="index"/> of the chunk read last began.</summary>
    public int Line(int index) => _records[index].Line;

    /// <summary>Reads up to <paramref name="maxRecords"/> records (at least one unless the stream has ended) and returns how many.</summary>
    public async ValueTask<int> ReadAsync(int maxRecords, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRecords, 1);
        _records.Clear();
        while (true)
        {
            while (_records.Count < maxRecords && TryTakeRecord())
            {
            }

            // A chunk ends where the buffer does: its records point into the buffer, which the next fill moves.
            if (_records.Count > 0 || (_ended && _start >= _filled))
            {
                return _records.Count;
            }

            await FillAsync(cancellationToken);
        }
    }

    /// <summary>Takes the next whole record out of the buffer; false when the buffer holds only part of one (or nothing).</summary>
    private bool TryTakeRecord()
    {
        while (true)
        {
            var span = _buffer.AsSpan(_start, _filled - _start);
            if (_atFileStart && span.Length > 0)
            {
                _atFileStart = false;
                if (span[0] == '\uFEFF')
                {
                    _start++;
                    continue;
                }
            }

            if (!TryFindEnd(span, out var length, out var breakLength, out var lineBreaks))
            {
                return false;
            }

            var line = _line;
            _line += lineBreaks;
            var start = _start;
            _start += length + breakLength;
            if (!span[..length].IsWhiteSpace())
            {
                _records.Add((start, length, line));
                return true;
            }
        }
    }

    /// <summary>
    /// Finds where the record at the start of <paramref name="span"/> ends: its length, the length of the line break
    /// after it (0 at the end of the stream) and the physical line breaks it spans, its own included.
    /// </summary>
    private bool TryFindEnd(ReadOnlySpan<char> span, out int length, out int breakLength, out int lineBreaks)
    {
        var quoted = false;
        lineBreaks = 0;
        var i = 0;
        while (true)
        {
            var next = span[i..].IndexOfAny(Structural);
            if (next < 0)
            {
                break;
            }

            i += next;
            var c = span[i];
            if (c == '"')
            {
                quoted = !quoted;
                i++;
                continue;
            }

            // CR LF is one break: a CR at the end of the buffer waits for the next fill to say whether LF follows.
            if (c == '\r' && i + 1 == span.Length && !_ended)
            {
                break;
            }

            var width = c == '\r' && i + 1 < span.Length && span[i + 1] == '\n' ? 2 : 1;
            lineBreaks++;
            if (!quoted)
            {
                length = i;
                breakLength = width;
                return true;
            }

            i += width;
        }

        // No break ends the record in the buffer: at the end of the stream the rest is the last record (an unclosed
        // quote included, for the tokenizer to name); otherwise more must be read.
        length = span.Length;
        breakLength = 0;
        return _ended && span.Length > 0;
    }

    private async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        var pending = _filled - _start;
        if (pending == _buffer.Length)
        {
            // One record fills the whole buffer: double it.
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }
        else if (_start > 0)
        {
            _buffer.AsSpan(_start, pending).CopyTo(_buffer);
        }

        _start = 0;
        _filled = pending;
        var read = await input.ReadAsync(_buffer.AsMemory(_filled), cancellationToken);
        if (read == 0)
        {
            _ended = true;
        }

        _filled += read;
    }
}
