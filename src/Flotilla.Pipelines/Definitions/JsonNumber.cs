using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Flotilla.Pipelines.Definitions;

/// <summary>Reads any JSON number as a double, whatever CLR type the node holds (long from YAML, double from JSON).</summary>
internal static class JsonNumber
{
    public static bool TryGet(JsonNode? node, out double value)
    {
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number)
        {
            value = double.Parse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);
            return true;
        }
        value = 0;
        return false;
    }

    public static double? Get(JsonNode? node) => TryGet(node, out var value) ? value : null;
}
