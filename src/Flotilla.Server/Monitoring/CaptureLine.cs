using System.Text.Json;
using Flotilla.Learning.Artifacts;

namespace Flotilla.Server.Monitoring;

/// <summary>One scored row of a captured call: its values by the model's features and what the model answered for it.</summary>
internal readonly record struct CaptureRow(RowValue[] Values, string Label, double Probability);

/// <summary>
/// The JSON line a captured row is stored as: <c>{"time", "group", "version", "artifactSha256", "requestId", "row",
/// "features": {name: number | text | null}, "label", "probability"}</c>. <c>row</c> counts the call's rows from 0,
/// as feedback names them; a numeric feature is a number, a categorical one its text, a missing value null, whatever
/// format the call came in — so the line can be sent back as a JSON row to score it again.
/// </summary>
internal static class CaptureLine
{
    private static readonly JsonEncodedText Time = JsonEncodedText.Encode("time");
    private static readonly JsonEncodedText Group = JsonEncodedText.Encode("group");
    private static readonly JsonEncodedText Version = JsonEncodedText.Encode("version");
    private static readonly JsonEncodedText Artifact = JsonEncodedText.Encode("artifactSha256");
    private static readonly JsonEncodedText RequestId = JsonEncodedText.Encode("requestId");
    private static readonly JsonEncodedText Row = JsonEncodedText.Encode("row");
    private static readonly JsonEncodedText Features = JsonEncodedText.Encode("features");
    private static readonly JsonEncodedText Label = JsonEncodedText.Encode("label");
    private static readonly JsonEncodedText Probability = JsonEncodedText.Encode("probability");

    /// <summary>A model's feature names, encoded once per batch rather than once per line (a line is mostly names).</summary>
    public static JsonEncodedText[] Names(ModelSchema schema) => [.. schema.Features.Select(f => JsonEncodedText.Encode(f.Name))];

    public static void Write(Utf8JsonWriter json, CapturedCall call, JsonEncodedText group, JsonEncodedText artifact, JsonEncodedText[] names, int row, CaptureRow scored)
    {
        json.WriteStartObject();
        json.WriteString(Time, call.Time);
        json.WriteString(Group, group);
        if (call.Version is { } version)
        {
            json.WriteNumber(Version, version);
        }
        else
        {
            json.WriteNull(Version);
        }
        json.WriteString(Artifact, artifact);
        json.WriteString(RequestId, call.RequestId);
        json.WriteNumber(Row, row);
        json.WriteStartObject(Features);
        for (var f = 0; f < scored.Values.Length; f++)
        {
            switch (scored.Values[f])
            {
                case { Number: { } number }:
                    json.WriteNumber(names[f], number);
                    break;
                case { Text: { } text }:
                    json.WriteString(names[f], text);
                    break;
                default:
                    json.WriteNull(names[f]);
                    break;
            }
        }
        json.WriteEndObject();
        json.WriteString(Label, scored.Label);
        json.WriteNumber(Probability, scored.Probability);
        json.WriteEndObject();
    }
}
