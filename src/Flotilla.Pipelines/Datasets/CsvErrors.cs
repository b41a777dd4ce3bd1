using System.Text.RegularExpressions;

namespace Flotilla.Pipelines.Datasets;

/// <summary>
/// The CSV reader's messages without the file's content. They quote header names and cell values, which is
/// right for a file the caller sent but would hand out a server file's first lines to whoever names it. What
/// stays: the file as the caller named it, the line, the label column (the caller's own word), and what is wrong.
/// </summary>
internal static partial class CsvErrors
{
    [GeneratedRegex(@", line (\d+)")]
    private static partial Regex Line();

    // Messages that quote content, by a phrase each always contains; all others quote none.
    private static readonly (string Phrase, string Instead)[] Quoting =
    [
        ("is not in the header", "the label column '{0}' is not in the header."),
        ("more than once", "the header names a column more than once. Column names must be unique."),
        ("a third label value", "a third label value. The label must have exactly two classes."),
        ("every row has the label", "every row has the same label. A binary classifier needs two classes."),
        ("the positive label", "the positive label is not one of the label's values."),
    ];

    public static string WithoutContent(string message, string shown, string label)
    {
        var line = Line().Match(message) is { Success: true } m ? $", line {m.Groups[1].Value}" : "";
        var column = message.Contains($", column '{label}':", StringComparison.Ordinal) ? $", column '{label}'" : "";
        var what = Quoting.FirstOrDefault(q => message.Contains(q.Phrase, StringComparison.Ordinal)).Instead;
        if (what is null)
        {
            // A message that quotes nothing but the label is kept as it is.
            var rest = message.Replace($"'{label}'", "", StringComparison.Ordinal);
            if (!rest.Contains('\'', StringComparison.Ordinal) && message.StartsWith(shown, StringComparison.Ordinal))
            {
                return message;
            }
            what = "the file is not a CSV this server can read as a dataset.";
        }
        return $"{shown}{line}{column}: {string.Format(System.Globalization.CultureInfo.InvariantCulture, what, label)}";
    }
}
