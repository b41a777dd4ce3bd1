using System.Text.Json;
using Flotilla.Learning.Data;

namespace Flotilla.Learning.Artifacts;

/// <summary>One value of a row as a model reads it: a number for a numeric feature, text for a categorical one, neither when missing.</summary>
public readonly record struct RowValue(double? Number, string? Text)
{
    public bool IsMissing => Number is null && Text is null;
}

/// <summary>
/// The rows of an invocation body by feature, read by the rules <see cref="LoadedModel.PredictCsv"/> and
/// <see cref="LoadedModel.PredictJson"/> score them with (a header line skipped, blank lines ignored, the label
/// column of a JSON row left out, the missing-value spellings), without scoring: what a record of the call (request
/// capture) stores beside the answer. A body a model refused has no defined rows; call it for scored bodies.
/// </summary>
public static class InvocationRows
{
    /// <summary>CSV rows without a header, values in <see cref="ModelSchema.Features"/> order.</summary>
    public static List<RowValue[]> FromCsv(ModelSchema schema, string csvRowsNoHeader)
    {
        var tokenizer = new CsvTokenizer(csvRowsNoHeader, ',', "the CSV rows");
        var fields = new List<CsvField>(schema.Features.Count);
        var rows = new List<RowValue[]>();
        var first = true;
        while (tokenizer.NextRecord(fields))
        {
            if (fields is [{ Length: 0, Quoted: false }])
            {
                continue;
            }
            if (first && IsHeader(schema, fields, csvRowsNoHeader))
            {
                first = false;
                continue;
            }
            first = false;
            var row = new RowValue[schema.Features.Count];
            for (var f = 0; f < row.Length && f < fields.Count; f++)
            {
                var span = fields[f].Span(csvRowsNoHeader);
                row[f] = Value(schema.Features[f], fields[f].Quoted ? span : span.Trim());
            }
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>One JSON object or an array of objects, values by feature name.</summary>
    public static List<RowValue[]> FromJson(ModelSchema schema, JsonElement rowsByName)
    {
        var rows = new List<RowValue[]>();
        foreach (var element in rowsByName.ValueKind == JsonValueKind.Array ? rowsByName.EnumerateArray().ToList() : [rowsByName])
        {
            var row = new RowValue[schema.Features.Count];
            if (element.ValueKind == JsonValueKind.Object)
            {
                for (var f = 0; f < row.Length; f++)
                {
                    var feature = schema.Features[f];
                    row[f] = element.TryGetProperty(feature.Name, out var value) ? value.ValueKind switch
                    {
                        JsonValueKind.Number => feature.Kind == ColumnKind.Numeric ? new RowValue(value.GetDouble(), null) : Value(feature, value.GetRawText()),
                        JsonValueKind.String => Value(feature, value.GetString()),
                        JsonValueKind.True => Value(feature, "true"),
                        JsonValueKind.False => Value(feature, "false"),
                        _ => default,
                    } : default;
                }
            }
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>CSV records of any text (RFC 4180: quoted fields may hold commas, quotes and line breaks), blank lines skipped.</summary>
    public static List<string[]> CsvRecords(string text)
    {
        var tokenizer = new CsvTokenizer(text, ',', "the CSV text");
        var fields = new List<CsvField>();
        var records = new List<string[]>();
        while (tokenizer.NextRecord(fields))
        {
            if (fields is not [{ Length: 0, Quoted: false }])
            {
                records.Add([.. fields.Select(f => f.Text(text))]);
            }
        }
        return records;
    }

    /// <summary>A first CSV line that repeats the feature names is a header, unless no value could tell it from a row.</summary>
    /// <remarks>Every call's first row comes here: a data row differs in its first field, so it costs one comparison and no allocation.</remarks>
    internal static bool IsHeader(ModelSchema schema, List<CsvField> fields, string text)
    {
        if (fields.Count != schema.Features.Count)
        {
            return false;
        }
        for (var i = 0; i < fields.Count; i++)
        {
            if (!fields[i].Span(text).Trim().SequenceEqual(schema.Features[i].Name))
            {
                return false;
            }
        }
        return schema.Features.Any(f => f.Kind == ColumnKind.Numeric || f.Vocabulary.Count > 0);
    }

    private static RowValue Value(FeatureSpec feature, ReadOnlySpan<char> text)
    {
        if (TableReader.IsMissing(text))
        {
            return default;
        }
        if (feature.Kind == ColumnKind.Numeric && TableReader.TryParseNumber(text, out var number))
        {
            return new RowValue(number, null);
        }
        return new RowValue(null, text.ToString());
    }

    private static RowValue Value(FeatureSpec feature, string? text) => text is null ? default : Value(feature, text.AsSpan());
}
