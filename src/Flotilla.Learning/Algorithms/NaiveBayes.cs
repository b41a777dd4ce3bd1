using Flotilla.Learning.Artifacts;

namespace Flotilla.Learning.Algorithms;

/// <summary>
/// Gaussian naive Bayes with the same posterior as scikit-learn's GaussianNB, computed on standardized
/// features: per-class means and variances, variances widened by var_smoothing × the largest feature
/// variance, class priors from counts.
/// </summary>
internal sealed class NaiveBayes : Algorithm
{
    public override string Name => "NaiveBayes";

    public override SearchSpace Space { get; } = new("NaiveBayes",
    [
        ParameterSpec.Float("var_smoothing", 1e-10, 1, logScale: true, reference: "var_smoothing: same meaning as scikit-learn's GaussianNB."),
    ]);

    public override HyperParameters Defaults { get; } = new(new Dictionary<string, ParameterValue> { ["var_smoothing"] = 1e-9 });

    internal override Predictor FitEncoded(EncodedData data, HyperParameters hp, int seed, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var d = data.Width;
        var counts = new double[2];
        var means = new double[2 * d];
        var variances = new double[2 * d];
        var values = new float[data.Schema.Features.Count];
        var z = new float[d];
        for (var r = 0; r < data.Rows; r++)
        {
            var c = data.Y[r] ? 1 : 0;
            counts[c]++;
            data.EncodeStandardized(r, values, z);
            for (var j = 0; j < d; j++)
            {
                means[c * d + j] += z[j];
            }
        }

        for (var c = 0; c < 2; c++)
        {
            for (var j = 0; j < d; j++)
            {
                means[c * d + j] /= Math.Max(counts[c], 1);
            }
        }

        ct.ThrowIfCancellationRequested();
        for (var r = 0; r < data.Rows; r++)
        {
            var c = data.Y[r] ? 1 : 0;
            data.EncodeStandardized(r, values, z);
            for (var j = 0; j < d; j++)
            {
                var diff = z[j] - means[c * d + j];
                variances[c * d + j] += diff * diff;
            }
        }

        // scikit-learn adds var_smoothing × (largest feature variance) to every variance, on the raw scale.
        // In standardized space feature j's variances are divided by its raw variance σⱼ², so the same
        // smoothing is ε / σⱼ² there, which makes the posterior identical to scikit-learn's.
        var epsilon = Number(hp, "var_smoothing") * data.Statistics.Variance.DefaultIfEmpty().Max();
        var scale = data.Standardizer.InverseScale;
        for (var c = 0; c < 2; c++)
        {
            for (var j = 0; j < d; j++)
            {
                var smoothing = epsilon * scale[j] * scale[j];
                variances[c * d + j] = variances[c * d + j] / Math.Max(counts[c], 1) + Math.Max(smoothing, 1e-300);
            }
        }

        var total = counts[0] + counts[1];
        double[] logPrior = [Math.Log(counts[0] / total), Math.Log(counts[1] / total)];
        return new NaiveBayesPredictor(data.Standardizer, logPrior, means, variances);
    }
}
