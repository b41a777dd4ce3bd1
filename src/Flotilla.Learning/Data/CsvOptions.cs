namespace Flotilla.Learning.Data;

/// <summary>How to read a CSV file into a <see cref="Table"/>; Label is the label column's header name.</summary>
public sealed record CsvOptions(string Label)
{
    /// <summary>Columns to leave out by header name, e.g. row ids.</summary>
    public IReadOnlyList<string> Exclude { get; init; } = [];

    public char Delimiter { get; init; } = ',';

    /// <summary>Files larger than this are refused before any parsing.</summary>
    public long MaxBytes { get; init; } = 1L << 30;

    /// <summary>
    /// The label value that counts as the positive class. When null it is chosen as scikit-learn would:
    /// the larger number, <c>true</c>/<c>yes</c>, or otherwise the second value in ordinal order.
    /// </summary>
    public string? PositiveLabel { get; init; }
}
