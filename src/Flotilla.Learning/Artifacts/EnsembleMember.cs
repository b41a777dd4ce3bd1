using System.Text.Json.Serialization;
using Flotilla.Learning.Algorithms;

namespace Flotilla.Learning.Artifacts;

/// <summary>
/// One member of an ensemble artifact as its metadata records it: the family and hyper-parameters refitted, its
/// weight in the mean of probabilities, and the tuning trial it came from with that trial's cross-validation score.
/// </summary>
public sealed record EnsembleMember(string Algorithm, HyperParameters Parameters, double Weight)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Trial { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? CrossValidationScore { get; init; }
}
