using Flotilla.Learning.Algorithms;

namespace Flotilla.Tuning.Sampling;

/// <summary>
/// A numeric parameter seen as a continuous interval: log space when the spec says log scale, and integers widened
/// by half a step on each side so that rounding back gives every step the same share of the interval.
/// </summary>
internal readonly record struct ParameterScale(ParameterSpec Spec)
{
    public double Low => Spec.Kind == ParameterKind.Integer ? Transform(Math.Max(Spec.Min - (HalfStep), LogFloor)) : Transform(Spec.Min);

    public double High => Spec.Kind == ParameterKind.Integer ? Transform(Spec.Max + HalfStep) : Transform(Spec.Max);

    private double HalfStep => Math.Max(Spec.Step, 1) / 2;

    // Log-scale integers starting at 1 would widen to 0.5; never below a positive floor so the log exists.
    private double LogFloor => Spec.LogScale ? Spec.Min / 2 : double.NegativeInfinity;

    public double Transform(double value) => Spec.LogScale ? Math.Log(value) : value;

    public double ToInternal(ParameterValue value) => Transform(value.Number!.Value);

    public ParameterValue FromInternal(double x)
    {
        var value = Spec.LogScale ? Math.Exp(x) : x;
        if (Spec.Kind == ParameterKind.Integer)
        {
            var step = Math.Max(Spec.Step, 1);
            value = Spec.Min + (Math.Round((value - Spec.Min) / step, MidpointRounding.AwayFromZero) * step);
        }

        return ParameterValue.Of(Math.Clamp(value, Spec.Min, Spec.Max));
    }

    public double Uniform(Random random) => Low + (random.NextDouble() * (High - Low));

    /// <summary>Refuses a numeric spec whose range cannot be sampled, naming it.</summary>
    public static void Check(string algorithm, ParameterSpec spec)
    {
        if (spec.Kind == ParameterKind.Categorical)
        {
            if (spec.Choices is not { Count: > 0 })
            {
                throw new ArgumentException($"{algorithm}.{spec.Name} is categorical but has no choices.");
            }

            return;
        }

        if (!(spec.Max >= spec.Min) || double.IsInfinity(spec.Min) || double.IsInfinity(spec.Max))
        {
            throw new ArgumentException($"{algorithm}.{spec.Name} has an empty or unbounded range [{spec.Min}, {spec.Max}].");
        }

        if (spec.LogScale && spec.Min <= 0)
        {
            throw new ArgumentException($"{algorithm}.{spec.Name} is on a log scale, so its minimum must be above 0 (was {spec.Min}).");
        }
    }
}
