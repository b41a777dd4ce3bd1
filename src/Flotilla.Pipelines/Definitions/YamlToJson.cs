using System.Globalization;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Flotilla.Pipelines.Definitions;

/// <summary>
/// Reads one YAML document into JSON straight from the parser's events. Anchors and aliases are refused: a
/// definition never needs them, and expanding nested aliases turns a few hundred bytes into gigabytes (the
/// "billion laughs"). Nesting is capped too, so a deep document cannot exhaust the stack. Every refusal names
/// its line and column.
/// </summary>
internal static class YamlToJson
{
    /// <summary>Mappings and lists inside each other; the built-in pipeline needs 6.</summary>
    public const int MaxDepth = 64;

    public static JsonNode Read(string text)
    {
        try
        {
            var parser = new Parser(new StringReader(text));
            parser.Consume<StreamStart>();
            if (parser.Accept<StreamEnd>(out _))
            {
                throw new DefinitionException([new("(document)", "The definition is empty.")]);
            }

            parser.Consume<DocumentStart>();
            var root = Node(parser, 0) ?? throw new DefinitionException([new("(document)", "The definition is null.")]);
            parser.Consume<DocumentEnd>();
            if (parser.Accept<DocumentStart>(out var second))
            {
                throw Refused(second.Start, "A definition is one YAML document; remove the second '---' document.");
            }
            return root;
        }
        catch (YamlException e)
        {
            throw Refused(e.Start, $"Not valid YAML: {e.InnerException?.Message ?? e.Message}");
        }
    }

    private static JsonNode? Node(IParser parser, int depth)
    {
        if (parser.Accept<AnchorAlias>(out var alias))
        {
            throw Refused(alias.Start, $"YAML aliases (*{alias.Value}) are not accepted in a definition; write the value out.");
        }
        if (parser.Accept<NodeEvent>(out var node) && !node.Anchor.IsEmpty)
        {
            throw Refused(node.Start, $"YAML anchors (&{node.Anchor}) are not accepted in a definition; write the value out.");
        }
        if (parser.TryConsume<Scalar>(out var scalar))
        {
            return Typed(scalar);
        }
        if (depth >= MaxDepth)
        {
            throw Refused(parser.Current!.Start, $"The definition nests deeper than {MaxDepth} levels.");
        }
        if (parser.TryConsume<SequenceStart>(out _))
        {
            var list = new JsonArray();
            while (!parser.TryConsume<SequenceEnd>(out _))
            {
                list.Add(Node(parser, depth + 1));
            }
            return list;
        }

        var start = parser.Consume<MappingStart>();
        var map = new JsonObject();
        while (!parser.TryConsume<MappingEnd>(out _))
        {
            var keyStart = parser.Current!.Start;
            if (!parser.TryConsume<Scalar>(out var key))
            {
                throw Refused(keyStart, "A mapping key must be a plain name, not a list or a mapping.");
            }
            if (map.ContainsKey(key.Value))
            {
                throw Refused(keyStart, $"The key '{key.Value}' appears twice in this mapping (the first one is at line {start.Start.Line} or below).");
            }
            map[key.Value] = Node(parser, depth + 1);
        }
        return map;
    }

    // YAML 1.2 core schema for plain scalars: null, booleans and numbers are typed; quoted scalars stay strings.
    private static JsonNode? Typed(Scalar scalar)
    {
        var value = scalar.Value;
        if (scalar.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted or ScalarStyle.Literal or ScalarStyle.Folded)
        {
            return JsonValue.Create(value);
        }

        return value switch
        {
            "" or "~" or "null" or "Null" or "NULL" => null,
            "true" or "True" or "TRUE" => JsonValue.Create(true),
            "false" or "False" or "FALSE" => JsonValue.Create(false),
            _ when long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) => JsonValue.Create(l),
            _ when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && !double.IsNaN(d) => JsonValue.Create(d),
            _ => JsonValue.Create(value),
        };
    }

    private static DefinitionException Refused(Mark at, string message) =>
        new([new($"line {at.Line}, column {at.Column}", message)]);
}
