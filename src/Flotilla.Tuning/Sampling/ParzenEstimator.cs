namespace Flotilla.Tuning.Sampling;

/// <summary>
/// A mixture of Gaussians truncated to [low, high], one per observation plus a wide prior at the centre, with
/// Optuna's bandwidths: the larger gap to a sorted neighbour, clipped to [(high - low) / min(100, n + 1), high - low].
/// </summary>
internal sealed class ParzenEstimator
{
    private readonly double[] _mus;
    private readonly double[] _sigmas;
    private readonly double[] _weights;
    private readonly double[] _logNormalizers;
    private readonly double _low;
    private readonly double _high;

    public ParzenEstimator(IReadOnlyList<(double Value, double Weight)> observations, double low, double high)
    {
        (_low, _high) = (low, high);
        var width = high - low;
        var prior = (Value: 0.5 * (low + high), Weight: 1.0, IsPrior: true);
        var points = observations
            .Select(o => (Value: Math.Clamp(o.Value, low, high), o.Weight, IsPrior: false))
            .Append(prior)
            .OrderBy(p => p.Value)
            .ThenBy(p => p.IsPrior)
            .ToArray();
        var n = points.Length;
        _mus = [.. points.Select(p => p.Value)];
        _weights = [.. points.Select(p => p.Weight)];
        _sigmas = new double[n];
        var minSigma = width / Math.Min(100.0, n);
        for (var i = 0; i < n; i++)
        {
            if (points[i].IsPrior)
            {
                _sigmas[i] = width;
                continue;
            }

            var left = i > 0 ? _mus[i] - _mus[i - 1] : 0;
            var right = i < n - 1 ? _mus[i + 1] - _mus[i] : 0;
            _sigmas[i] = Math.Clamp(Math.Max(left, right), minSigma, width);
        }

        var total = _weights.Sum();
        _logNormalizers = new double[n];
        for (var i = 0; i < n; i++)
        {
            _weights[i] /= total;
            var mass = Normal.Cdf((high - _mus[i]) / _sigmas[i]) - Normal.Cdf((low - _mus[i]) / _sigmas[i]);
            _logNormalizers[i] = Math.Log(Math.Max(mass, 1e-12)) + Math.Log(_sigmas[i]) + (0.5 * Math.Log(2 * Math.PI));
        }
    }

    public double Sample(Random random)
    {
        var u = random.NextDouble();
        var k = 0;
        for (var acc = _weights[0]; acc < u && k < _weights.Length - 1; acc += _weights[++k])
        {
        }

        return Normal.SampleTruncated(_mus[k], _sigmas[k], _low, _high, random);
    }

    public double LogDensity(double x)
    {
        // log-sum-exp over the components.
        var max = double.NegativeInfinity;
        Span<double> terms = _mus.Length <= 256 ? stackalloc double[_mus.Length] : new double[_mus.Length];
        for (var i = 0; i < _mus.Length; i++)
        {
            var z = (x - _mus[i]) / _sigmas[i];
            terms[i] = Math.Log(_weights[i]) - (0.5 * z * z) - _logNormalizers[i];
            max = Math.Max(max, terms[i]);
        }

        var sum = 0.0;
        foreach (var t in terms)
        {
            sum += Math.Exp(t - max);
        }

        return max + Math.Log(sum);
    }
}
