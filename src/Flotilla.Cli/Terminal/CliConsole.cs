using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotilla.Contracts;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Flotilla.Cli.Terminal;

/// <summary>
/// Where a command writes: rich output (tables, colours, live progress) on a terminal, plain text when
/// redirected or captured by tests, raw JSON with <c>--json</c>. Errors go to the error writer in one sentence.
/// </summary>
internal sealed class CliConsole
{
    private static readonly FlotillaJson Indented = new(new JsonSerializerOptions(FlotillaJson.Default.Options) { WriteIndented = true });

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

    /// <summary><c>--json</c>: a contract record exactly as the server sends it (the records are the wire format), indented.</summary>
    public void WriteJson<T>(T value) =>
        Ansi.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(value, Indented.GetTypeInfo(typeof(T))
            ?? throw new InvalidOperationException($"{typeof(T).Name} is not a contract of {nameof(FlotillaJson)}.")));

    public void Fail(string message) => Error.WriteLine($"error: {message}");

    /// <summary>A table of records, one column per (header, value); values are shortened as <see cref="Cell"/> says.</summary>
    public void Table<T>(IEnumerable<T> rows, params (string Header, Func<T, object?> Value)[] columns)
    {
        var table = new Table().Border(TableBorder.Simple);
        foreach (var (header, _) in columns)
        {
            table.AddColumn(new TableColumn(header));
        }
        foreach (var row in rows)
        {
            table.AddRow(columns.Select(c => Cell(c.Header, c.Value(row))).Select(s => (IRenderable)new Text(s.Length > 100 ? s[..99] + "…" : s)).ToArray());
        }
        Ansi.Write(table);
    }

    /// <summary>A value shortened for a table: hashes to 12 characters, bytes in KB/MB/GB, times to the second, numbers to 4 places.</summary>
    private static string Cell(string header, object? value) => value switch
    {
        null => "",
        string s when header.Contains("sha256", StringComparison.OrdinalIgnoreCase) && s.Length > 12 => s[..12],
        string s => s,
        DateTimeOffset t => t.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
        long or int when header.Contains("bytes", StringComparison.OrdinalIgnoreCase) => Bytes(Convert.ToDouble(value, CultureInfo.InvariantCulture)),
        double d => d.ToString("0.####", CultureInfo.InvariantCulture),
        JsonNode node => Text(node),
        IEnumerable<string> list => string.Join(", ", list),
        IEnumerable<KeyValuePair<string, long>> counts => string.Join(" ", counts.Select(p => $"{p.Key}={p.Value}")),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    public static string Bytes(double bytes)
    {
        string[] units = ["B", "KB", "MB", "GB", "TB"];
        var unit = 0;
        while (bytes >= 1024 && unit < units.Length - 1)
        {
            bytes /= 1024;
            unit++;
        }
        return bytes.ToString(unit == 0 ? "0" : "0.0", CultureInfo.InvariantCulture) + " " + units[unit];
    }

    /// <summary>A JSON value as a short human string: numbers rounded, arrays joined, objects as key=value.</summary>
    public static string Text(JsonNode? node) => node switch
    {
        null => "",
        JsonValue v when v.TryGetValue<double>(out var d) && d != Math.Floor(d) => d.ToString("0.####", CultureInfo.InvariantCulture),
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonValue v => v.ToJsonString(),
        JsonArray a => string.Join(", ", a.Select(Text)),
        JsonObject o => string.Join(" ", o.Select(p => $"{p.Key}={Text(p.Value)}")),
        _ => node.ToJsonString(),
    };
}
