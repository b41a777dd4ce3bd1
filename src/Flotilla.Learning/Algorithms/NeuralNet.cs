using System.Globalization;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Flotilla.Learning.Artifacts;

namespace Flotilla.Learning.Algorithms;

/// <summary>
/// A multi-layer perceptron as scikit-learn's MLPClassifier: standardized input, relu or logistic hidden
/// layers, a sigmoid output, cross-entropy with L2 penalty alpha, Adam on shuffled mini-batches of up to 200
/// rows, and scikit-learn's default stopping rule: training ends when the epoch's training loss (with the L2
/// term) has not fallen by 1e-4 for more than 10 epochs in a row, or at max_iter.
/// <para>
/// Not early stopping on a held-out split (scikit-learn's early_stopping=True, which the reference leaves off):
/// measured on breast-cancer, a 10% split made the refit of one configuration score test AUC 0.985–0.996
/// depending on the seed alone, so the CV winner was a lottery ticket; on all the rows the same refits score
/// 0.995–0.997 (bench/README.md, "Tuning").
/// </para>
/// </summary>
internal sealed class NeuralNet : Algorithm
{
    private const int BatchSize = 200;
    private const int NoImprovementEpochs = 10;
    private const double Tolerance = 1e-4;

    public override string Name => "NeuralNet";

    public override SearchSpace Space { get; } = new("NeuralNet",
    [
        ParameterSpec.Categorical("hidden_layer_sizes", Choices("50", "100", "50,50"), "hidden_layer_sizes: same meaning (comma-separated widths)."),
        ParameterSpec.Categorical("activation", Choices("logistic", "relu"), "activation: same meaning."),
        ParameterSpec.Float("learning_rate_init", 1e-3, 1e-1, logScale: true, reference: "learning_rate_init: Adam's step size."),
        ParameterSpec.Float("alpha", 1e-5, 1e3, logScale: true, reference: "alpha: L2 penalty, scaled by the batch size as in scikit-learn."),
        ParameterSpec.Categorical("max_iter", Choices("100", "200", "500", "1000"), "max_iter: epochs at most."),
    ]);

    public override HyperParameters Defaults { get; } = new(new Dictionary<string, ParameterValue>
    {
        ["hidden_layer_sizes"] = "100",
        ["activation"] = "relu",
        ["learning_rate_init"] = 1e-3,
        ["alpha"] = 1e-4,
        ["max_iter"] = "200",
    });

    internal override Predictor FitEncoded(EncodedData data, HyperParameters hp, int seed, CancellationToken ct)
    {
        var hidden = Choice(hp, "hidden_layer_sizes").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var network = new Network(data.Width, hidden, Choice(hp, "activation") == "relu", seed);
        // Epochs visit the rows in a new random order each time: read them from a compact copy of their input values
        // (one float per feature, a few cache lines a row) rather than from the table's columns, and encode each batch.
        var rows = new InputRows(data.Schema.Features.Count, data.StandardizedEncoder, data.Values());
        network.Train(rows, data.Y, Number(hp, "learning_rate_init"), Number(hp, "alpha"), Integer(hp, "max_iter"), seed, ct);
        return new MlpPredictor(data.Standardizer, network.Relu, network.Weights, network.Biases);
    }

    /// <summary>Weights and the training loop; layer l maps sizes[l] inputs to sizes[l+1] outputs.</summary>
    internal sealed class Network
    {
        private readonly int[] _sizes;

        public Network(int inputs, int[] hidden, bool relu, int seed)
        {
            Relu = relu;
            _sizes = [inputs, .. hidden, 1];
            var random = new Random(seed);
            Weights = new float[_sizes.Length - 1][];
            Biases = new float[_sizes.Length - 1][];
            for (var l = 0; l < Weights.Length; l++)
            {
                var (fanIn, fanOut) = (_sizes[l], _sizes[l + 1]);
                // Glorot uniform, with scikit-learn's factor 2 for logistic layers and 6 otherwise.
                var factor = !relu && l < Weights.Length - 1 ? 2.0 : 6.0;
                var bound = Math.Sqrt(factor / (fanIn + fanOut));
                Weights[l] = new float[fanIn * fanOut];
                Biases[l] = new float[fanOut];
                for (var i = 0; i < Weights[l].Length; i++)
                {
                    Weights[l][i] = (float)((random.NextDouble() * 2 - 1) * bound);
                }

                for (var i = 0; i < Biases[l].Length; i++)
                {
                    Biases[l][i] = (float)((random.NextDouble() * 2 - 1) * bound);
                }
            }
        }

        public bool Relu { get; }

        public float[][] Weights { get; }

        public float[][] Biases { get; }

        private int Layers => Weights.Length;

        public void Train(InputRows x, bool[] y, double learningRate, double alpha, int maxEpochs, int seed, CancellationToken ct)
        {
            var random = new Random(seed + 1);
            var rows = Enumerable.Range(0, y.Length).ToArray();
            var batch = new Batch(_sizes, Math.Min(BatchSize, rows.Length));
            var gradW = Weights.Select(w => new float[w.Length]).ToArray();
            var gradB = Biases.Select(b => new float[b.Length]).ToArray();
            var mW = Weights.Select(w => new float[w.Length]).ToArray();
            var vW = Weights.Select(w => new float[w.Length]).ToArray();
            var mB = Biases.Select(b => new float[b.Length]).ToArray();
            var vB = Biases.Select(b => new float[b.Length]).ToArray();
            var best = double.PositiveInfinity;
            var noImprovement = 0;
            var step = 0;
            const double beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8;
            for (var epoch = 0; epoch < maxEpochs; epoch++)
            {
                ct.ThrowIfCancellationRequested();
                random.Shuffle(rows);
                var epochLoss = 0.0;
                for (var start = 0; start < rows.Length; start += BatchSize)
                {
                    var members = rows.AsSpan(start, Math.Min(BatchSize, rows.Length - start));
                    batch.Load(x, y, members);
                    Forward(batch);
                    epochLoss += batch.OutputLossAndDelta();
                    Backward(batch, gradW, gradB);

                    // scikit-learn adds alpha/2·‖W‖² per batch to the batch's summed loss.
                    foreach (var w in Weights)
                    {
                        epochLoss += 0.5 * alpha * TensorPrimitives.Dot(w, w);
                    }

                    step++;
                    var scale = 1f / members.Length;
                    var correction1 = 1 - Math.Pow(beta1, step);
                    var correction2 = 1 - Math.Pow(beta2, step);
                    var rate = (float)(learningRate * Math.Sqrt(correction2) / correction1);
                    for (var l = 0; l < Layers; l++)
                    {
                        // Mean gradient plus the L2 term alpha·W / batch, as scikit-learn.
                        TensorPrimitives.Multiply(gradW[l], scale, gradW[l]);
                        TensorPrimitives.MultiplyAdd(Weights[l], (float)alpha * scale, gradW[l], gradW[l]);
                        TensorPrimitives.Multiply(gradB[l], scale, gradB[l]);
                        Adam(Weights[l], gradW[l], mW[l], vW[l], rate);
                        Adam(Biases[l], gradB[l], mB[l], vB[l], rate);
                    }
                }

                // scikit-learn's rule: count epochs that did not beat the best loss by the tolerance; stop after more than 10.
                var loss = epochLoss / rows.Length;
                noImprovement = loss > best - Tolerance ? noImprovement + 1 : 0;
                best = Math.Min(best, loss);
                if (noImprovement > NoImprovementEpochs)
                {
                    break;
                }
            }

            // Adam, vectorised; g is overwritten (it is rebuilt for every batch).
            static void Adam(float[] w, float[] g, float[] m, float[] v, float rate)
            {
                TensorPrimitives.Multiply(m, (float)beta1, m);
                TensorPrimitives.MultiplyAdd(g, (float)(1 - beta1), m, m);
                TensorPrimitives.Multiply(g, g, g);
                TensorPrimitives.Multiply(v, (float)beta2, v);
                TensorPrimitives.MultiplyAdd(g, (float)(1 - beta2), v, v);
                TensorPrimitives.Sqrt(v, g);
                TensorPrimitives.Add(g, (float)epsilon, g);
                TensorPrimitives.Divide(m, g, g);
                TensorPrimitives.MultiplyAdd(g, -rate, w, w);
            }
        }

        /// <summary>Fills every layer's activations for the batch; the last holds the output probabilities.</summary>
        private void Forward(Batch batch)
        {
            var n = batch.Count;
            for (var l = 0; l < Layers; l++)
            {
                var (inputs, outputs) = (_sizes[l], _sizes[l + 1]);
                var z = batch.Activations(l + 1);
                for (var r = 0; r < n; r++)
                {
                    Biases[l].CopyTo(z.Slice(r * outputs, outputs));
                }

                Gemm.Multiply(batch.Activations(l), Weights[l], z, n, inputs, outputs, accumulate: true);
                if (l < Layers - 1 && Relu)
                {
                    TensorPrimitives.Max(z, 0f, z);
                }
                else
                {
                    TensorPrimitives.Sigmoid(z, z);
                }
            }
        }

        /// <summary>Each parameter's gradient summed over the batch, the output deltas already in place.</summary>
        private void Backward(Batch batch, float[][] gradW, float[][] gradB)
        {
            var n = batch.Count;
            for (var l = Layers - 1; l >= 0; l--)
            {
                var (inputs, outputs) = (_sizes[l], _sizes[l + 1]);
                var delta = batch.Deltas(l + 1);
                var a = batch.Activations(l);
                // db = 1ᵀ·Δ (the column sums), dW = Aᵀ·Δ.
                Gemm.Multiply(batch.Ones, delta, gradB[l], 1, n, outputs, accumulate: false);
                Gemm.Multiply(a, delta, gradW[l], inputs, n, outputs, accumulate: false, transposeA: true);
                if (l == 0)
                {
                    continue;
                }

                // Δ of the layer below = Δ·Wᵀ times the derivative of its activation, written through its output a:
                // 1[a > 0] for relu, a(1 - a) for the logistic.
                var previous = batch.Deltas(l);
                Gemm.Multiply(delta, batch.Transpose(Weights[l], inputs, outputs), previous, n, outputs, inputs, accumulate: false);
                if (Relu)
                {
                    ReluSlope(a, previous);
                }
                else
                {
                    var slope = batch.Scratch(a.Length);
                    TensorPrimitives.Multiply(a, a, slope);
                    TensorPrimitives.Subtract(a, slope, slope);
                    TensorPrimitives.Multiply(previous, slope, previous);
                }
            }
        }
    }

    /// <summary>delta[i] = 0 where the relu's output a[i] is 0: its slope there.</summary>
    private static void ReluSlope(ReadOnlySpan<float> a, Span<float> delta)
    {
        var i = 0;
        for (; i + Vector256<float>.Count <= a.Length; i += Vector256<float>.Count)
        {
            var active = Vector256.GreaterThan(Vector256.Create(a.Slice(i, Vector256<float>.Count)), Vector256<float>.Zero);
            Vector256.ConditionalSelect(active, Vector256.Create((ReadOnlySpan<float>)delta.Slice(i, Vector256<float>.Count)), Vector256<float>.Zero)
                .CopyTo(delta.Slice(i, Vector256<float>.Count));
        }

        for (; i < a.Length; i++)
        {
            if (a[i] <= 0)
            {
                delta[i] = 0;
            }
        }
    }

    /// <summary>A mini-batch, row-major per layer (row r of layer l holds its units' values for the batch's row r), and the buffers its products need.</summary>
    private sealed class Batch(int[] sizes, int capacity)
    {
        private readonly float[][] _activations = [.. sizes.Select(s => new float[s * capacity])];
        private readonly float[][] _deltas = [.. sizes.Select(s => new float[s * capacity])];
        private readonly float[] _targets = new float[capacity];
        private readonly float[] _transposed = new float[Enumerable.Range(0, sizes.Length - 1).Max(l => sizes[l] * sizes[l + 1])];
        private readonly float[] _ones = Enumerable.Repeat(1f, capacity).ToArray();
        private readonly float[] _scratch = new float[sizes.Max() * capacity];

        public int Count { get; private set; }

        public Span<float> Activations(int layer) => _activations[layer].AsSpan(0, Count * sizes[layer]);

        public Span<float> Deltas(int layer) => _deltas[layer].AsSpan(0, Count * sizes[layer]);

        public Span<float> Scratch(int length) => _scratch.AsSpan(0, length);

        public ReadOnlySpan<float> Ones => _ones.AsSpan(0, Count);

        /// <summary>The transpose of a rows×columns weight matrix, in a buffer reused by the next call.</summary>
        public ReadOnlySpan<float> Transpose(ReadOnlySpan<float> matrix, int rows, int columns)
        {
            var result = _transposed.AsSpan(0, rows * columns);
            for (var r = 0; r < rows; r++)
            {
                for (var c = 0; c < columns; c++)
                {
                    result[(c * rows) + r] = matrix[(r * columns) + c];
                }
            }

            return result;
        }

        /// <summary>Encodes the members' standardized rows and copies their labels in.</summary>
        public void Load(InputRows x, bool[] y, ReadOnlySpan<int> members)
        {
            Count = members.Length;
            var width = sizes[0];
            for (var r = 0; r < members.Length; r++)
            {
                x.Standardized(members[r], _activations[0].AsSpan(r * width, width));
                _targets[r] = y[members[r]] ? 1 : 0;
            }
        }

        /// <summary>Sets the output deltas p - y and returns the batch's summed log loss, clipped as scikit-learn does.</summary>
        public double OutputLossAndDelta()
        {
            var output = sizes.Length - 1;
            var p = Activations(output);
            var loss = 0.0;
            for (var r = 0; r < Count; r++)
            {
                var q = Math.Clamp((double)p[r], 1e-15, 1 - 1e-15);
                loss -= _targets[r] == 1 ? Math.Log(q) : Math.Log(1 - q);
            }

            TensorPrimitives.Subtract(p, _targets.AsSpan(0, Count), Deltas(output));
            return loss;
        }
    }

    /// <summary>Rows as input values (rows × features, row-major), encoded and standardized one at a time.</summary>
    internal sealed class InputRows(int features, StandardizedEncoder encoder, float[] values)
    {
        public void Standardized(int row, Span<float> z) => encoder.Encode(values.AsSpan(row * features, features), z);
    }
}
