using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Flotilla.Cli.Terminal;

/// <summary>
/// Where a command writes: rich output (tables, colours, live progress) on a terminal, plain text when
/// redirected or captured by tests, raw JSON with <c>--json</c>. Errors go to the error writer in one sentence.
/// </summary>
internal sealed class CliConsole
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    private CliConsole(IAnsiConsole ansi, TextWriter error, bool json, bool interactive)
    {
        Ansi = ansi;
        Error = error;
        Json = json;
        Interactive = interactive;
    }

    public IAnsiConsole Ansi { get; }
    public TextWriter Error { get; }
    public bool Json { get; }

    /// <summary>A real terminal: live-updating displays are allowed.</summary>
    public bool Interactive { get; }

    public static CliConsole Create(TextWriter output, TextWriter error, bool json)
    {
        var terminal = ReferenceEquals(output, System.Console.Out) && !System.Console.IsOutputRedirected;
        var ansi = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!terminal)
        {
            // Captured output must not wrap at an imaginary 80 columns.
            ansi.Profile.Width = 200;
        }
        return new CliConsole(ansi, error, json, terminal && !json);
    }

    public void Line(string text) => Ansi.WriteLine(text);

    public void Markup(string markup) => Ansi.MarkupLine(markup);

    public void Write(IRenderable renderable) => Ansi.Write(renderable);

    public void WriteJson(JsonNode? node) =>
        Ansi.Profile.Out.Writer.WriteLine(node?.ToJsonString(Indented) ?? "null");

    public void Fail(string message) => Error.WriteLine($"error: {message}");

    /// <summary>
    /// A table of JSON objects showing the preferred columns the server actually sent (first match of
    /// each alternative, e.g. "rowCount|rows"; dotted paths reach nested fields; "header=key" names the
    /// column), so a renamed field degrades to a missing column, not a crash.
    /// </summary>
    public void Table(JsonArray rows, params string[] columns)
    {
        var objects = rows.OfType<JsonObject>().ToList();
        var chosen = columns
            .Select(Column)
            .Where(c => objects.Any(o => c.Keys.Any(k => Find(o, k) is not null)))
            .ToList();
        if (chosen.Count == 0 && objects.Count > 0)
        {
            chosen = objects[0].Where(p => p.Value is JsonValue).Select(p => (p.Key, new[] { p.Key })).ToList();
        }

        var table = new Table().Border(TableBorder.Simple);
        foreach (var (header, _) in chosen)
        {
            table.AddColumn(new TableColumn(Humanize(header)));
        }
        foreach (var row in objects)
        {
            table.AddRow(chosen.Select(c => Cell(c.Keys, row)).Select(s => (IRenderable)new Text(s.Length > 100 ? s[..99] + "…" : s)).ToArray());
        }
        Ansi.Write(table);
    }

    /// <summary>"header=key|alternative": an explicit header, else the last part of the first key.</summary>
    private static (string Header, string[] Keys) Column(string spec)
    {
        var equals = spec.IndexOf('=', StringComparison.Ordinal);
        var keys = spec[(equals + 1)..].Split('|');
        return (equals > 0 ? spec[..equals] : keys[0].Split('.')[^1], keys);
    }

    /// <summary>The first present key's value, shortened for a table: hashes to 12 characters, bytes in KB/MB/GB, times to the second.</summary>
    private static string Cell(string[] keys, JsonObject row)
    {
        foreach (var key in keys)
        {
            if (Find(row, key) is not { } value)
            {
                continue;
            }
            var text = Text(value);
            if (key.EndsWith("Sha256", StringComparison.OrdinalIgnoreCase) && text.Length > 12)
            {
                return text[..12];
            }
            if (key.Contains("bytes", StringComparison.OrdinalIgnoreCase) && double.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var bytes))
            {
                return Bytes(bytes);
            }
            if (value is JsonValue && DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var time) && text.Length >= 19 && text[10] == 'T')
            {
                return time.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
            }
            return text;
        }
        return "";
    }

    public static string Bytes(double bytes)
    {
        string[] units = ["B", "KB", "MB", "GB", "TB"];
        var unit = 0;
        while (bytes >= 1024 && unit < units.Length - 1)
        {
            bytes /= 1024;
            unit++;
        }
        return bytes.ToString(unit == 0 ? "0" : "0.0", System.Globalization.CultureInfo.InvariantCulture) + " " + units[unit];
    }

    /// <summary>A field by name, or a nested one by a dotted path such as "parameters.DatasetName".</summary>
    private static JsonNode? Find(JsonObject row, string path)
    {
        JsonNode? node = row;
        foreach (var part in path.Split('.'))
        {
            node = node is JsonObject o ? o[part] : null;
        }
        return node;
    }

    /// <summary>A JSON value as a short human string: numbers rounded, arrays joined, objects as key=value.</summary>
    public static string Text(JsonNode? node) => node switch
    {
        null => "",
        JsonValue v when v.TryGetValue<double>(out var d) && d != Math.Floor(d) => d.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture),
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v => v.ToJsonString(),
        JsonArray a => string.Join(", ", a.Select(Text)),
        JsonObject o => string.Join(" ", o.Select(p => $"{p.Key}={Text(p.Value)}")),
        _ => node.ToJsonString(),
    };

    private static string Humanize(string camel) =>
        string.Concat(camel.Select((c, i) => i > 0 && char.IsUpper(c) ? " " + char.ToLowerInvariant(c) : c.ToString()));
}
