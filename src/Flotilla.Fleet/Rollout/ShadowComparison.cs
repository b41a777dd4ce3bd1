using System.Globalization;
using System.Text;
using System.Text.Json;
using Flotilla.Fleet.Models;

namespace Flotilla.Fleet.Rollout;

/// <summary>
/// Reads the predictions back out of a formatted answer (the bytes <see cref="ModelScoring"/> wrote) so a shadow's
/// answer can be compared row by row with the one the caller got. Runs on the shadow worker, never on a request.
/// </summary>
internal static class ShadowComparison
{
    public static List<(string Label, double Probability)> Read(byte[] body, PayloadFormat format) =>
        format == PayloadFormat.Json ? ReadJson(body) : ReadCsv(Encoding.UTF8.GetString(body));

    /// <summary>Rows compared, rows with the same label, and each row's |difference| in the probability of one class.</summary>
    public static (int Rows, int Agreed, double[] Differences) Compare(
        List<(string Label, double Probability)> primary, List<(string Label, double Probability)> shadow)
    {
        var rows = Math.Min(primary.Count, shadow.Count);
        var differences = new double[rows];
        var agreed = 0;
        for (var i = 0; i < rows; i++)
        {
            // An answer's probability is its own label's: with two labels, the other label's is 1 − p.
            if (string.Equals(primary[i].Label, shadow[i].Label, StringComparison.Ordinal))
            {
                agreed++;
                differences[i] = Math.Abs(primary[i].Probability - shadow[i].Probability);
            }
            else
            {
                differences[i] = Math.Abs(primary[i].Probability - (1 - shadow[i].Probability));
            }
        }
        return (rows, agreed, differences);
    }

    private static List<(string, double)> ReadJson(byte[] body)
    {
        using var document = JsonDocument.Parse(body);
        var rows = new List<(string, double)>();
        foreach (var p in document.RootElement.GetProperty("predictions").EnumerateArray())
        {
            rows.Add((p.GetProperty("label").GetString() ?? "", p.GetProperty("probability").GetDouble()));
        }
        return rows;
    }

    /// <summary>Lines of <c>label,probability</c>; a label with a comma, quote or line break is quoted, quotes doubled.</summary>
    private static List<(string, double)> ReadCsv(string text)
    {
        var rows = new List<(string, double)>();
        var i = 0;
        while (i < text.Length)
        {
            string label;
            if (text[i] == '"')
            {
                var value = new StringBuilder();
                i++;
                while (i < text.Length)
                {
                    if (text[i] == '"')
                    {
                        if (i + 1 < text.Length && text[i + 1] == '"')
                        {
                            value.Append('"');
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    value.Append(text[i++]);
                }
                label = value.ToString();
            }
            else
            {
                var comma = text.IndexOf(',', i);
                if (comma < 0)
                {
                    break;
                }
                label = text[i..comma];
                i = comma;
            }
            // text[i] is the comma before the probability.
            var end = text.IndexOf('\n', i);
            if (end < 0)
            {
                end = text.Length;
            }
            rows.Add((label, double.Parse(text.AsSpan(i + 1, end - i - 1), NumberStyles.Float, CultureInfo.InvariantCulture)));
            i = end + 1;
        }
        return rows;
    }
}
