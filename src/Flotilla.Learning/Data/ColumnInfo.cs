namespace Flotilla.Learning.Data;

public enum ColumnKind { Numeric, Categorical }

/// <summary>
/// A feature column of a <see cref="Table"/> as found at run time. Categories are the distinct values of a
/// categorical column in order of first appearance; empty for a numeric column.
/// </summary>
public sealed record ColumnInfo(string Name, ColumnKind Kind, int MissingCount, IReadOnlyList<string> Categories);

/// <summary>Which original label value became <c>false</c> and which became <c>true</c>.</summary>
public sealed record LabelMapping(string Negative, string Positive)
{
    public string this[bool positive] => positive ? Positive : Negative;
}
