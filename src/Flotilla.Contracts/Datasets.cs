namespace Flotilla.Contracts;

/// <summary><c>POST /api/datasets</c> as JSON: a CSV by server path or http(s) URL.</summary>
public sealed record RegisterDatasetRequest(string? Name, string? Path, string? Target, IReadOnlyList<string>? Exclude);

public sealed record DatasetColumn(string Name, string Kind, int Missing, IReadOnlyList<string> Categories);

/// <summary>
/// A registered dataset: where its CSV is (relative to the data folder when uploaded), its label (null for a dataset
/// registered for scoring only), and what reading it found.
/// </summary>
public sealed record Dataset(
    string Name,
    string Path,
    string? Target,
    IReadOnlyList<string> Exclude,
    string Sha256,
    long SizeBytes,
    long RowCount,
    IReadOnlyList<DatasetColumn> Columns,
    IReadOnlyDictionary<string, long> LabelBalance,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);
