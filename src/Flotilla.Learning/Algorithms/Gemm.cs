using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Flotilla.Learning.Algorithms;

/// <summary>
/// C (m×n) = op(A) · B, or C += op(A) · B, row-major, where op(A) is A (m×k) or the transpose of a k×m A: the
/// one dense kernel the MLP's training needs (forward Z = A·W, weight gradient Aᵀ·Δ, back-propagation Δ·Wᵀ).
/// <para>
/// Why not one TensorPrimitives call per row and unit, as before: each call reads and writes its output row to do
/// one multiply-add per element, so the loop is bound by loads and stores (7.5 GFLOPS for a 200×30 by 30×100
/// product here), and shaping the batch so that calls span 200 rows changed nothing. Here a 4×16 block of C stays
/// in eight registers while k runs, so each pair of loads from B feeds eight fused multiply-adds (44 GFLOPS for the
/// same product). Columns past the last multiple of 8 go through a zero-padded 8-wide copy, so every column is
/// vectorised, an output layer of width 1 included.
/// </para>
/// </summary>
internal static class Gemm
{
    private const int Width = 8;

    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n, bool accumulate, bool transposeA = false)
    {
        if (a.Length < m * k || b.Length < k * n || c.Length < m * n)
        {
            throw new ArgumentException($"Spans too short for a {m}×{k} by {k}×{n} product.");
        }

        if (!accumulate)
        {
            c[..(m * n)].Clear();
        }

        // Element (row, i) of op(A): A[row·k + i], or A[i·m + row] when A is given transposed.
        var (rowStride, kStride) = transposeA ? (1, m) : (k, 1);
        ref var ra = ref MemoryMarshal.GetReference(a);
        var wide = n - (n % Width);
        if (wide > 0)
        {
            Columns(ref ra, rowStride, kStride, ref MemoryMarshal.GetReference(b), n, ref MemoryMarshal.GetReference(c), n, m, k, wide);
        }

        if (wide == n)
        {
            return;
        }

        var tail = n - wide;
        Span<float> paddedB = k * Width <= 4096 ? stackalloc float[k * Width] : new float[k * Width];
        Span<float> paddedC = m * Width <= 4096 ? stackalloc float[m * Width] : new float[m * Width];
        paddedB.Clear();
        for (var i = 0; i < k; i++)
        {
            b.Slice((i * n) + wide, tail).CopyTo(paddedB.Slice(i * Width));
        }

        paddedC.Clear();
        for (var row = 0; row < m; row++)
        {
            c.Slice((row * n) + wide, tail).CopyTo(paddedC.Slice(row * Width));
        }

        Columns(ref ra, rowStride, kStride, ref MemoryMarshal.GetReference(paddedB), Width, ref MemoryMarshal.GetReference(paddedC), Width, m, k, Width);
        for (var row = 0; row < m; row++)
        {
            paddedC.Slice(row * Width, tail).CopyTo(c.Slice((row * n) + wide));
        }
    }

    /// <summary>The first <paramref name="columns"/> (a multiple of 8) columns of C, four rows at a time.</summary>
    private static void Columns(ref float a, int rowStride, int kStride, ref float b, int ldb, ref float c, int ldc, int m, int k, int columns)
    {
        var row = 0;
        for (; row + 4 <= m; row += 4)
        {
            FourRows(ref a, row * rowStride, rowStride, kStride, ref b, ldb, ref c, row * ldc, ldc, k, columns);
        }

        for (; row < m; row++)
        {
            OneRow(ref a, row * rowStride, kStride, ref b, ldb, ref c, row * ldc, k, columns);
        }
    }

    private static void FourRows(ref float a, int a0, int rowStride, int kStride, ref float b, int ldb, ref float c, int c0, int ldc, int k, int columns)
    {
        var (r0, r1, r2, r3) = (a0, a0 + rowStride, a0 + (2 * rowStride), a0 + (3 * rowStride));
        var (o0, o1, o2, o3) = ((nuint)c0, (nuint)(c0 + ldc), (nuint)(c0 + (2 * ldc)), (nuint)(c0 + (3 * ldc)));
        var j = 0;
        for (; j + (2 * Width) <= columns; j += 2 * Width)
        {
            var (j0, j1) = ((nuint)j, (nuint)(j + Width));
            var s00 = Vector256.LoadUnsafe(ref c, o0 + j0);
            var s01 = Vector256.LoadUnsafe(ref c, o0 + j1);
            var s10 = Vector256.LoadUnsafe(ref c, o1 + j0);
            var s11 = Vector256.LoadUnsafe(ref c, o1 + j1);
            var s20 = Vector256.LoadUnsafe(ref c, o2 + j0);
            var s21 = Vector256.LoadUnsafe(ref c, o2 + j1);
            var s30 = Vector256.LoadUnsafe(ref c, o3 + j0);
            var s31 = Vector256.LoadUnsafe(ref c, o3 + j1);
            for (var i = 0; i < k; i++)
            {
                var offset = (nuint)(i * ldb);
                var b0 = Vector256.LoadUnsafe(ref b, offset + j0);
                var b1 = Vector256.LoadUnsafe(ref b, offset + j1);
                var ai = i * kStride;
                var x0 = Vector256.Create(Unsafe.Add(ref a, r0 + ai));
                s00 = Vector256.FusedMultiplyAdd(x0, b0, s00);
                s01 = Vector256.FusedMultiplyAdd(x0, b1, s01);
                var x1 = Vector256.Create(Unsafe.Add(ref a, r1 + ai));
                s10 = Vector256.FusedMultiplyAdd(x1, b0, s10);
                s11 = Vector256.FusedMultiplyAdd(x1, b1, s11);
                var x2 = Vector256.Create(Unsafe.Add(ref a, r2 + ai));
                s20 = Vector256.FusedMultiplyAdd(x2, b0, s20);
                s21 = Vector256.FusedMultiplyAdd(x2, b1, s21);
                var x3 = Vector256.Create(Unsafe.Add(ref a, r3 + ai));
                s30 = Vector256.FusedMultiplyAdd(x3, b0, s30);
                s31 = Vector256.FusedMultiplyAdd(x3, b1, s31);
            }

            s00.StoreUnsafe(ref c, o0 + j0);
            s01.StoreUnsafe(ref c, o0 + j1);
            s10.StoreUnsafe(ref c, o1 + j0);
            s11.StoreUnsafe(ref c, o1 + j1);
            s20.StoreUnsafe(ref c, o2 + j0);
            s21.StoreUnsafe(ref c, o2 + j1);
            s30.StoreUnsafe(ref c, o3 + j0);
            s31.StoreUnsafe(ref c, o3 + j1);
        }

        for (; j < columns; j += Width)
        {
            var j0 = (nuint)j;
            var s0 = Vector256.LoadUnsafe(ref c, o0 + j0);
            var s1 = Vector256.LoadUnsafe(ref c, o1 + j0);
            var s2 = Vector256.LoadUnsafe(ref c, o2 + j0);
            var s3 = Vector256.LoadUnsafe(ref c, o3 + j0);
            for (var i = 0; i < k; i++)
            {
                var b0 = Vector256.LoadUnsafe(ref b, (nuint)(i * ldb) + j0);
                var ai = i * kStride;
                s0 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref a, r0 + ai)), b0, s0);
                s1 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref a, r1 + ai)), b0, s1);
                s2 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref a, r2 + ai)), b0, s2);
                s3 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref a, r3 + ai)), b0, s3);
            }

            s0.StoreUnsafe(ref c, o0 + j0);
            s1.StoreUnsafe(ref c, o1 + j0);
            s2.StoreUnsafe(ref c, o2 + j0);
            s3.StoreUnsafe(ref c, o3 + j0);
        }
    }

    private static void OneRow(ref float a, int a0, int kStride, ref float b, int ldb, ref float c, int c0, int k, int columns)
    {
        for (var j = 0; j < columns; j += Width)
        {
            var j0 = (nuint)j;
            var s = Vector256.LoadUnsafe(ref c, (nuint)c0 + j0);
            for (var i = 0; i < k; i++)
            {
                s = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref a, a0 + (i * kStride))), Vector256.LoadUnsafe(ref b, (nuint)(i * ldb) + j0), s);
            }

            s.StoreUnsafe(ref c, (nuint)c0 + j0);
        }
    }
}
