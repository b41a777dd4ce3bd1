using System.Globalization;

namespace Flotilla.Learning.Algorithms;

public enum ParameterKind { Integer, Float, Categorical }

/// <summary>
/// One tunable hyper-parameter as data, so the tuner and the UI can read it. <see cref="Reference"/> says how
/// the reference's (scikit-learn) parameter maps onto it, or why it has no equivalent.
/// </summary>
public sealed record ParameterSpec(
    string Name,
    ParameterKind Kind,
    double Min = 0,
    double Max = 0,
    double Step = 0,
    bool LogScale = false,
    IReadOnlyList<string>? Choices = null,
    string? Reference = null)
{
    public static ParameterSpec Integer(string name, int min, int max, int step = 1, bool logScale = false, string? reference = null) =>
        new(name, ParameterKind.Integer, min, max, step, logScale, null, reference);

    public static ParameterSpec Float(string name, double min, double max, bool logScale = false, string? reference = null) =>
        new(name, ParameterKind.Float, min, max, 0, logScale, null, reference);

    public static ParameterSpec Categorical(string name, IReadOnlyList<string> choices, string? reference = null) =>
        new(name, ParameterKind.Categorical, 0, 0, 0, false, choices, reference);

    /// <summary>Throws when <paramref name="value"/> is not a legal value of this parameter.</summary>
    public void Validate(ParameterValue value, string algorithm)
    {
        switch (Kind)
        {
            case ParameterKind.Categorical when value.Text is null || Choices is null || !Choices.Contains(value.Text):
                throw new ArgumentException(
                    $"{algorithm}.{Name} = {value} is not one of {string.Join(", ", Choices ?? [])}.");
            case ParameterKind.Integer or ParameterKind.Float when value.Number is not { } n || n < Min || n > Max:
                throw new ArgumentException(
                    $"{algorithm}.{Name} = {value} is outside [{Min.ToString(CultureInfo.InvariantCulture)}, {Max.ToString(CultureInfo.InvariantCulture)}].");
            case ParameterKind.Integer when value.Number is { } i && i != Math.Round(i):
                throw new ArgumentException($"{algorithm}.{Name} = {value} must be a whole number.");
        }
    }
}

/// <summary>The conditional search space of one algorithm family.</summary>
public sealed record SearchSpace(string Algorithm, IReadOnlyList<ParameterSpec> Parameters)
{
    public ParameterSpec this[string name] =>
        Parameters.FirstOrDefault(p => p.Name == name)
        ?? throw new ArgumentException($"{Algorithm} has no hyper-parameter '{name}'. Known: {string.Join(", ", Parameters.Select(p => p.Name))}.");

    /// <summary>Refuses unknown names and out-of-range values, naming the parameter.</summary>
    public void Validate(HyperParameters values)
    {
        foreach (var (name, value) in values)
        {
            this[name].Validate(value, Algorithm);
        }
    }
}
