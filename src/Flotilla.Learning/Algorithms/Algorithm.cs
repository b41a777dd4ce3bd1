using System.Globalization;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;

namespace Flotilla.Learning.Algorithms;

/// <summary>
/// The shared shape of the six families: validate and complete the hyper-parameters, encode the table once,
/// fit a compact <see cref="Predictor"/>. Cross-validation calls <see cref="FitEncoded"/> on cached fold
/// data, skipping the encoding.
/// </summary>
internal abstract class Algorithm : IAlgorithm
{
    public abstract string Name { get; }

    public abstract SearchSpace Space { get; }

    public abstract HyperParameters Defaults { get; }

    public TrainedModel Fit(Table train, HyperParameters hp, int seed, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(train);
        var complete = Complete(hp);
        var data = EncodedData.From(train);
        var predictor = FitEncoded(data, complete, seed, ct);
        var metadata = new ModelMetadata(Name, complete, null, null, train.Sha256, train.RowCount, seed, ModelArtifact.LibraryVersions);
        return new TrainedModel(data.Schema, metadata, predictor);
    }

    /// <summary>Defaults overlaid with <paramref name="hp"/>, after checking every given value against the space.</summary>
    public HyperParameters Complete(HyperParameters hp)
    {
        ArgumentNullException.ThrowIfNull(hp);
        Space.Validate(hp);
        var complete = Defaults;
        foreach (var (name, value) in hp)
        {
            complete = complete.With(name, value);
        }

        return complete;
    }

    /// <summary>Fits on already encoded data; <paramref name="hp"/> is complete (see <see cref="Complete"/>).</summary>
    internal abstract Predictor FitEncoded(EncodedData data, HyperParameters hp, int seed, CancellationToken ct);

    /// <summary>A numeric parameter that may also be given as a numeric choice ("0.1").</summary>
    protected static double Number(HyperParameters hp, string name)
    {
        var value = hp[name];
        if (value.Number is { } n)
        {
            return n;
        }

        return double.TryParse(value.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed)
            ? parsed
            : throw new ArgumentException($"Hyper-parameter '{name}' = {value} is not a number.");
    }

    protected static int Integer(HyperParameters hp, string name) => (int)Math.Round(Number(hp, name));

    protected static string Choice(HyperParameters hp, string name) => hp[name].Text ?? hp[name].ToString();

    protected static IReadOnlyList<string> Choices(params string[] choices) => choices;
}
