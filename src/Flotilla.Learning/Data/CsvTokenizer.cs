using System.Text;

namespace Flotilla.Learning.Data;

/// <summary>One field of a CSV record: a slice of the text, or its unescaped copy when it held doubled quotes.</summary>
internal readonly record struct CsvField(int Start, int Length, string? Unescaped, bool Quoted)
{
    public ReadOnlySpan<char> Span(ReadOnlySpan<char> text) => Unescaped is null ? text.Slice(Start, Length) : Unescaped.AsSpan();

    public string Text(ReadOnlySpan<char> text) => Unescaped ?? text.Slice(Start, Length).ToString();
}

/// <summary>
/// An RFC 4180 tokenizer over text already in memory: quoted fields may hold the delimiter, quotes ("") and
/// line breaks; records end at LF, CRLF or CR. It hands out slices, not strings, so a 100,000-row file costs
/// a few allocations per quoted-with-escapes field only.
/// </summary>
internal sealed class CsvTokenizer(char delimiter, string source)
{
    private ReadOnlyMemory<char> _memory;
    private int _position;
    private int _line;

    public CsvTokenizer(ReadOnlyMemory<char> text, char delimiter, string source, int firstLine = 1)
        : this(delimiter, source) => Reset(text, firstLine);

    public CsvTokenizer(string text, char delimiter, string source, int firstLine = 1)
        : this(text.AsMemory(), delimiter, source, firstLine)
    {
    }

    /// <summary>Starts over on <paramref name="text"/>, so that one tokenizer reads a stream's records one after another.</summary>
    public void Reset(ReadOnlyMemory<char> text, int firstLine)
    {
        _memory = text;
        _position = text.Length > 0 && text.Span[0] == '\uFEFF' ? 1 : 0;
        _line = firstLine;
    }

    /// <summary>The physical line (1-based) on which the record returned last began.</summary>
    public int RecordLine { get; private set; }

    public bool AtEnd => _position >= _memory.Length;

    /// <summary>Reads the next record into <paramref name="fields"/>; false at the end of the text.</summary>
    public bool NextRecord(List<CsvField> fields)
    {
        fields.Clear();
        var text = _memory.Span;
        if (_position >= text.Length)
        {
            return false;
        }

        RecordLine = _line;
        while (true)
        {
            var field = ReadField(text);
            fields.Add(field);
            if (_position >= text.Length)
            {
                return true;
            }

            var c = text[_position];
            if (c == delimiter)
            {
                _position++;
                if (_position >= text.Length)
                {
                    fields.Add(new CsvField(_position, 0, null, false));
                    return true;
                }

                continue;
            }

            // End of record: CR, LF or CRLF.
            _position += c == '\r' && _position + 1 < text.Length && text[_position + 1] == '\n' ? 2 : 1;
            _line++;
            return true;
        }
    }

    private CsvField ReadField(ReadOnlySpan<char> text)
    {
        var start = _position;
        var probe = _position;
        while (probe < text.Length && text[probe] is ' ' or '\t' && text[probe] != delimiter)
        {
            probe++;
        }

        if (probe < text.Length && text[probe] == '"')
        {
            return ReadQuoted(text, probe);
        }

        while (_position < text.Length)
        {
            var c = text[_position];
            if (c == delimiter || c == '\n' || c == '\r')
            {
                break;
            }

            _position++;
        }

        return new CsvField(start, _position - start, null, false);
    }

    private CsvField ReadQuoted(ReadOnlySpan<char> text, int quote)
    {
        var line = _line;
        var contentStart = quote + 1;
        var i = contentStart;
        StringBuilder? unescaped = null;
        var segmentStart = contentStart;
        while (true)
        {
            if (i >= text.Length)
            {
                throw new DataFormatException(
                    $"{source}, line {line}: a quoted field is never closed (a \" without its closing \"). Close the quote or escape it as \"\".");
            }

            var c = text[i];
            if (c == '"')
            {
                if (i + 1 < text.Length && text[i + 1] == '"')
                {
                    unescaped ??= new StringBuilder();
                    unescaped.Append(text.Slice(segmentStart, i - segmentStart + 1));
                    i += 2;
                    segmentStart = i;
                    continue;
                }

                break;
            }

            if (c == '\n' || (c == '\r' && (i + 1 >= text.Length || text[i + 1] != '\n')))
            {
                _line++;
            }

            i++;
        }

        var contentEnd = i;
        _position = i + 1;
        while (_position < text.Length && text[_position] is ' ' or '\t' && text[_position] != delimiter)
        {
            _position++;
        }

        if (_position < text.Length && text[_position] != delimiter && text[_position] != '\n' && text[_position] != '\r')
        {
            throw new DataFormatException(
                $"{source}, line {_line}: unexpected text after a closing quote. Quote the whole field and write inner quotes as \"\".");
        }

        if (unescaped is not null)
        {
            unescaped.Append(text.Slice(segmentStart, contentEnd - segmentStart));
            return new CsvField(contentStart, contentEnd - contentStart, unescaped.ToString(), true);
        }

        return new CsvField(contentStart, contentEnd - contentStart, null, true);
    }

    /// <summary>Writes one field, quoting it when it holds the delimiter, a quote, a line break or edge spaces.</summary>
    public static void WriteField(TextWriter writer, string value, char delimiter)
    {
        var needsQuotes = value.Length > 0 &&
            (value.Contains(delimiter) || value.Contains('"') || value.Contains('\n') || value.Contains('\r') ||
             char.IsWhiteSpace(value[0]) || char.IsWhiteSpace(value[^1]));
        if (!needsQuotes)
        {
            writer.Write(value);
            return;
        }

        writer.Write('"');
        writer.Write(value.Replace("\"", "\"\"", StringComparison.Ordinal));
        writer.Write('"');
    }
}
