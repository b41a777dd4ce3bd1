using System.Globalization;
using Flotilla.Learning.Algorithms;

namespace Flotilla.Tuning.Sampling;

/// <summary>
/// Every point of each family's grid: all categorical choices, every integer step, and <see cref="FloatPoints"/>
/// evenly spaced points (log-spaced on log scales) per float range. The points run in a seeded shuffled order so
/// that families interleave. A grid larger than the trial budget is refused rather than silently cut.
/// </summary>
internal sealed class GridSampler : Sampler
{
    internal const int FloatPoints = 5;

    private readonly List<Proposal> _points;

    public GridSampler(IReadOnlyList<SearchSpace> spaces, int seed, int maxTrials)
    {
        var sizes = spaces.Select(s => (s.Algorithm, Size: s.Parameters.Aggregate(1.0, (n, p) => n * Values(p).Count))).ToList();
        var total = sizes.Sum(s => s.Size);
        if (total > maxTrials)
        {
            var parts = string.Join(", ", sizes.Select(s => $"{s.Algorithm} {s.Size.ToString("N0", CultureInfo.InvariantCulture)}"));
            throw new ArgumentException(
                $"The Grid strategy runs every point, but this grid has {total.ToString("N0", CultureInfo.InvariantCulture)} points ({parts}) " +
                $"and MaxTuningJobs is {maxTrials}. Raise MaxTuningJobs, choose fewer algorithms or narrower search spaces, or use the Tpe or Random strategy.");
        }

        _points = [.. spaces.SelectMany(Points)];
        var random = TrialRandom.For(seed, 0, stream: 3);
        for (var i = _points.Count - 1; i > 0; i--)
        {
            var j = random.Next(i + 1);
            (_points[i], _points[j]) = (_points[j], _points[i]);
        }
    }

    public override int? Size => _points.Count;

    public override Proposal Propose(int number, IReadOnlyList<TrialRecord> history) => _points[number];

    private static IEnumerable<Proposal> Points(SearchSpace space)
    {
        // The size was checked against the budget first, so the product is small enough to build in full.
        IEnumerable<IEnumerable<KeyValuePair<string, ParameterValue>>> combos = [[]];
        foreach (var p in space.Parameters)
        {
            var values = Values(p);
            combos = [.. combos.SelectMany(c => values.Select(v => c.Append(KeyValuePair.Create(p.Name, v))))];
        }

        return combos.Select(c => new Proposal(space.Algorithm, new HyperParameters(c)));
    }

    internal static IReadOnlyList<ParameterValue> Values(ParameterSpec p)
    {
        switch (p.Kind)
        {
            case ParameterKind.Categorical:
                return [.. p.Choices!.Select(ParameterValue.Of)];
            case ParameterKind.Integer:
                var step = Math.Max(p.Step, 1);
                var count = (int)Math.Floor((p.Max - p.Min) / step) + 1;
                return [.. Enumerable.Range(0, count).Select(i => ParameterValue.Of(p.Min + (i * step)))];
            default:
                if (p.Max == p.Min)
                {
                    return [ParameterValue.Of(p.Min)];
                }

                var scale = new ParameterScale(p);
                return [.. Enumerable.Range(0, FloatPoints).Select(i =>
                {
                    var x = scale.Low + ((scale.High - scale.Low) * i / (FloatPoints - 1));
                    return ParameterValue.Of(Math.Clamp(p.LogScale ? Math.Exp(x) : x, p.Min, p.Max));
                })];
        }
    }
}
