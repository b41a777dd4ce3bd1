namespace Flotilla.Learning.Data;

/// <summary>One field of a CSV record as a slice of the file's bytes; <see cref="Escaped"/> when it holds doubled quotes.</summary>
internal readonly record struct Utf8Field(int Start, int Length, bool Quoted, bool Escaped);

/// <summary>
/// The RFC 4180 tokenizer of <see cref="CsvTokenizer"/> over the file's UTF-8 bytes rather than decoded text: the
/// delimiter, quotes and line breaks are ASCII, so they cannot occur inside a multi-byte character, and a field is
/// decoded only when its text is needed (a category, a header name). Reading a table then costs its bytes once, not a
/// UTF-16 copy of the whole file on top.
/// </summary>
internal sealed class Utf8CsvTokenizer
{
    private readonly byte[] _bytes;
    private readonly int _length;
    private readonly byte _delimiter;
    private readonly string _source;
    private int _position;
    private int _line = 1;

    public Utf8CsvTokenizer(byte[] bytes, int length, char delimiter, string source)
    {
        if (delimiter > 0x7F || delimiter is '"' or '\n' or '\r')
        {
            throw new DataFormatException($"{source}: the delimiter '{delimiter}' must be one ASCII character other than a quote or a line break.");
        }

        _bytes = bytes;
        _length = length;
        _delimiter = (byte)delimiter;
        _source = source;
        _position = length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
    }

    /// <summary>The physical line (1-based) on which the record returned last began.</summary>
    public int RecordLine { get; private set; }

    /// <summary>Where the record returned last began (a byte offset), to read it again with <see cref="Seek"/>.</summary>
    public int RecordStart { get; private set; }

    public ReadOnlySpan<byte> Span(Utf8Field field) => _bytes.AsSpan(field.Start, field.Length);

    /// <summary>Goes back to a record start returned earlier; line numbers are not kept (its records were read without error before).</summary>
    public void Seek(int recordStart) => _position = recordStart;

    /// <summary>Reads the next record into <paramref name="fields"/>; false at the end of the bytes.</summary>
    public bool NextRecord(List<Utf8Field> fields)
    {
        fields.Clear();
        if (_position >= _length)
        {
            return false;
        }

        RecordLine = _line;
        RecordStart = _position;
        while (true)
        {
            fields.Add(ReadField());
            if (_position >= _length)
            {
                return true;
            }

            var c = _bytes[_position];
            if (c == _delimiter)
            {
                _position++;
                if (_position >= _length)
                {
                    fields.Add(new Utf8Field(_position, 0, false, false));
                    return true;
                }

                continue;
            }

            // End of record: CR, LF or CRLF.
            _position += c == '\r' && _position + 1 < _length && _bytes[_position + 1] == '\n' ? 2 : 1;
            _line++;
            return true;
        }
    }

    private Utf8Field ReadField()
    {
        var start = _position;
        var probe = _position;
        while (probe < _length && _bytes[probe] is (byte)' ' or (byte)'\t' && _bytes[probe] != _delimiter)
        {
            probe++;
        }

        if (probe < _length && _bytes[probe] == '"')
        {
            return ReadQuoted(probe);
        }

        var rest = _bytes.AsSpan(_position, _length - _position);
        var end = rest.IndexOfAny(_delimiter, (byte)'\n', (byte)'\r');
        _position = end < 0 ? _length : _position + end;
        return new Utf8Field(start, _position - start, false, false);
    }

    private Utf8Field ReadQuoted(int quote)
    {
        var line = _line;
        var contentStart = quote + 1;
        var i = contentStart;
        var escaped = false;
        while (true)
        {
            if (i >= _length)
            {
                throw new DataFormatException(
                    $"{_source}, line {line}: a quoted field is never closed (a \" without its closing \"). Close the quote or escape it as \"\".");
            }

            var c = _bytes[i];
            if (c == '"')
            {
                if (i + 1 < _length && _bytes[i + 1] == '"')
                {
                    escaped = true;
                    i += 2;
                    continue;
                }

                break;
            }

            if (c == '\n' || (c == '\r' && (i + 1 >= _length || _bytes[i + 1] != '\n')))
            {
                _line++;
            }

            i++;
        }

        var contentEnd = i;
        _position = i + 1;
        while (_position < _length && _bytes[_position] is (byte)' ' or (byte)'\t' && _bytes[_position] != _delimiter)
        {
            _position++;
        }

        if (_position < _length && _bytes[_position] != _delimiter && _bytes[_position] != '\n' && _bytes[_position] != '\r')
        {
            throw new DataFormatException(
                $"{_source}, line {_line}: unexpected text after a closing quote. Quote the whole field and write inner quotes as \"\".");
        }

        return new Utf8Field(contentStart, contentEnd - contentStart, true, escaped);
    }
}
