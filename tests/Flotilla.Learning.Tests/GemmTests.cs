using Flotilla.Learning.Algorithms;

namespace Flotilla.Learning.Tests;

public sealed class GemmTests
{
    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(3, 5, 7)]
    [InlineData(4, 30, 50)]
    [InlineData(55, 100, 1)]
    [InlineData(200, 30, 100)]
    [InlineData(7, 200, 9)]
    [InlineData(9, 3, 40)]
    public void The_product_matches_the_textbook_triple_loop_for_every_block_and_tail_shape(int m, int k, int n)
    {
        Check(m, k, n, transposeA: false);
        Check(m, k, n, transposeA: true);
    }

    private static void Check(int m, int k, int n, bool transposeA)
    {
        var random = new Random(m * 10_000 + k * 100 + n);
        float[] Fill(int length) => [.. Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1))];
        var (a, b, start) = (Fill(m * k), Fill(k * n), Fill(m * n));

        var product = new float[m * n];
        Gemm.Multiply(a, b, product, m, k, n, accumulate: false, transposeA);
        var accumulated = (float[])start.Clone();
        Gemm.Multiply(a, b, accumulated, m, k, n, accumulate: true, transposeA);

        for (var i = 0; i < m; i++)
        {
            for (var j = 0; j < n; j++)
            {
                var expected = 0.0;
                for (var t = 0; t < k; t++)
                {
                    expected += (double)a[transposeA ? (t * m) + i : (i * k) + t] * b[(t * n) + j];
                }

                Assert.Equal(expected, product[(i * n) + j], 1e-4);
                Assert.Equal(expected + start[(i * n) + j], accumulated[(i * n) + j], 1e-4);
            }
        }
    }
}
