namespace Flotilla.Tuning.Sampling;

/// <summary>The standard normal distribution as the samplers need it, drawn from a caller's seeded stream.</summary>
internal static class Normal
{
    /// <summary>Box–Muller; 1 - NextDouble() is in (0, 1], so the log is finite.</summary>
    public static double Standard(Random random)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>
    /// N(mu, sigma) truncated to [low, high], by rejection: the centre is inside the interval and sigma at most its
    /// width, so at least a third of the draws land inside; the clamp only guards against a pathological run.
    /// </summary>
    public static double SampleTruncated(double mu, double sigma, double low, double high, Random random)
    {
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var x = mu + (sigma * Standard(random));
            if (x >= low && x <= high)
            {
                return x;
            }
        }

        return Math.Clamp(mu, low, high);
    }

    /// <summary>The CDF through erf (Abramowitz and Stegun 7.1.26, error below 1.5e-7).</summary>
    public static double Cdf(double z)
    {
        var x = Math.Abs(z) / Math.Sqrt(2.0);
        var t = 1.0 / (1.0 + (0.3275911 * x));
        var erf = 1.0 - ((((((1.061405429 * t) - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.Exp(-x * x);
        return 0.5 * (1.0 + (Math.Sign(z) * erf));
    }
}
