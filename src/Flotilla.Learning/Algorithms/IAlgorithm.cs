using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;

namespace Flotilla.Learning.Algorithms;

/// <summary>
/// One algorithm family: its search space as data, default hyper-parameters, and a fit that returns a
/// self-contained model. Implementations are stateless and safe to call from many threads at once.
/// </summary>
public interface IAlgorithm
{
    string Name { get; }

    SearchSpace Space { get; }

    /// <summary>A complete assignment of every parameter in <see cref="Space"/>; Fit fills gaps from it.</summary>
    HyperParameters Defaults { get; }

    /// <summary>Fits on <paramref name="train"/>; <paramref name="hp"/> may name any subset of the space.</summary>
    TrainedModel Fit(Table train, HyperParameters hp, int seed, CancellationToken ct);
}
