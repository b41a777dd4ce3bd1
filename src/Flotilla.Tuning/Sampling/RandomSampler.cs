using Flotilla.Learning.Algorithms;

namespace Flotilla.Tuning.Sampling;

/// <summary>The reference's random search: a family uniformly, then each of its parameters uniformly (log-uniform on log scales).</summary>
internal sealed class RandomSampler(IReadOnlyList<SearchSpace> spaces, int seed) : Sampler
{
    internal const int Stream = 1;

    public override Proposal Propose(int number, IReadOnlyList<TrialRecord> history)
    {
        var random = TrialRandom.For(seed, number, Stream);
        var space = spaces[random.Next(spaces.Count)];
        return new Proposal(space.Algorithm, SampleAll(space, random));
    }

    public static HyperParameters SampleAll(SearchSpace space, Random random) =>
        new(space.Parameters.Select(p => KeyValuePair.Create(p.Name, Sample(p, random))));

    public static ParameterValue Sample(ParameterSpec spec, Random random) => spec.Kind == ParameterKind.Categorical
        ? ParameterValue.Of(spec.Choices![random.Next(spec.Choices.Count)])
        : new ParameterScale(spec).FromInternal(new ParameterScale(spec).Uniform(random));
}
