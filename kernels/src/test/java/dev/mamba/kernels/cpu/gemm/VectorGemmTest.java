package dev.mamba.kernels.cpu.gemm;

import dev.mamba.kernels.cpu.CpuParallel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** VectorGemm against a double-precision reference on awkward shapes, strides, bias and accumulate modes. */
class VectorGemmTest {
    private static final int[] SIZES = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 100, 257};
    private static CpuParallel one;
    private static CpuParallel two;
    private static CpuParallel three;
    private final VectorGemm gemm = new VectorGemm();

    @BeforeAll
    static void pools() {
        one = new CpuParallel(1);
        two = new CpuParallel(2);
        three = new CpuParallel(3);
    }

    @AfterAll
    static void closePools() {
        one.close();
        two.close();
        three.close();
    }

    @Test
    void isTheBestGemmWithTheVectorModule() {
        org.junit.jupiter.api.Assumptions.assumeFalse(Boolean.getBoolean("mamba.cpu.scalar"), "scalar forced");
        // Surefire runs with --add-modules jdk.incubator.vector, so the lookup must find this class.
        assertEquals(gemm.name(), Gemms.best().name());
        assertTrue(VectorGemm.NR == 2 * VectorGemm.L && VectorGemm.NR % 4 == 0, "panel width " + VectorGemm.NR);
    }

    @Test
    void awkwardShapesAgainstDoubleReference() {
        int cases = 0;
        for (int i = 0; i < SIZES.length; i++) {
            for (int j = 0; j < SIZES.length; j++) {
                int m = SIZES[i], n = SIZES[j], k = SIZES[(i + 2 * j) % SIZES.length];
                int variant = i * SIZES.length + j;
                CpuParallel par = variant % 3 == 0 ? one : variant % 3 == 1 ? two : three;
                check(par, m, n, k, (variant & 1) != 0, (variant & 2) != 0, variant % 5 == 0, 1000 + variant);
                cases++;
            }
        }
        assertEquals(SIZES.length * SIZES.length, cases);
    }

    @Test
    void everyFlagCombinationOnEdgeSizes() {
        int[][] shapes = {{1, 1, 1}, {1, 50, 1}, {7, 1, 33}, {1, 80, 1536}, {9, 80, 48}, {65, 1536, 48},
                {13, 17, 300}, {100, 33, 513}, {257, 65, 65}, {6, 16, 256}, {12, 32, 257}};
        long seed = 7;
        for (int[] s : shapes) {
            for (int f = 0; f < 8; f++) {
                check((f & 4) != 0 ? two : one, s[0], s[1], s[2], (f & 1) != 0, (f & 2) != 0, (f & 4) != 0, seed++);
            }
        }
    }

    @Test
    void largerShapesSplitOverRowsColumnsAndKBlocks() {
        // Several row chunks (MC), column chunks at M = 1 (N split for threads), K over several blocks.
        check(two, 450, 100, 700, true, true, true, 1);
        check(three, 1, 5000, 40, true, false, true, 2);
        check(two, 2, 4200, 9, false, true, false, 3);
        check(two, 390, 80, 1536, true, false, false, 4);
        check(one, 200, 97, 600, true, true, true, 5);
    }

    @Test
    void zeroKGivesBiasAndZeroMOrNIsANoOp() {
        PackedWeights p = gemm.pack(new float[0], 0, 0, 3, 0);
        float[] out = {1, 2, 3, 4, 5, 6};
        gemm.multiply(two, 2, new float[0], 0, 0, p, new float[]{10, 20, 30}, 0, out, 0, 3, true);
        assertArrayEquals(new float[]{11, 22, 33, 14, 25, 36}, out);
        gemm.multiply(two, 2, new float[0], 0, 0, p, null, 0, out, 0, 3, false);
        assertArrayEquals(new float[6], out);
        PackedWeights q = gemm.pack(new float[4], 0, 2, 2, 2);
        float[] untouched = {7, 7};
        gemm.multiply(two, 0, new float[0], 0, 2, q, null, 0, untouched, 0, 2, false);
        assertArrayEquals(new float[]{7, 7}, untouched);
    }

    @Test
    void rejectsForeignWeightsAndShortStrides() {
        PackedWeights scalar = new ScalarGemm().pack(new float[4], 0, 2, 2, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> gemm.multiply(one, 1, new float[2], 0, 2, scalar, null, 0, new float[2], 0, 2, false));
        assertTrue(e.getMessage().contains("packed by"), e.getMessage());
        PackedWeights p = gemm.pack(new float[12], 0, 4, 3, 4);
        e = assertThrows(IllegalArgumentException.class,
                () -> gemm.multiply(one, 2, new float[8], 0, 3, p, null, 0, new float[6], 0, 3, false));
        assertTrue(e.getMessage().contains("ldx 3"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> gemm.pack(new float[12], 0, 3, 3, 4));
    }

    @Test
    void packedWeightsAreReusableAcrossCallsAndThreads() {
        SplittableRandom rnd = new SplittableRandom(3);
        int n = 70, k = 90;
        float[] w = random(rnd, n * k);
        PackedWeights p = gemm.pack(w, 0, k, n, k);
        for (int m : new int[]{1, 5, 64, 129}) {
            float[] x = random(rnd, m * k);
            float[] a = new float[m * n], b = new float[m * n];
            gemm.multiply(one, m, x, 0, k, p, null, 0, a, 0, n, false);
            gemm.multiply(three, m, x, 0, k, p, null, 0, b, 0, n, false);
            // The split differs with the thread count, the arithmetic per output does not.
            org.junit.jupiter.api.Assertions.assertArrayEquals(a, b, "m=" + m);
        }
    }

    /**
     * One product with x and out embedded at offsets in wider arrays (padding columns that must stay
     * untouched), w read with a row stride, against a double-precision reference.
     */
    private void check(CpuParallel par, int m, int n, int k, boolean withBias, boolean accumulate, boolean strided,
                       long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int xPad = strided ? 3 : 0, oPad = strided ? 5 : 0, wPad = strided ? 2 : 0;
        int ldx = k + xPad, ldo = n + oPad, ldw = k + wPad;
        int xOff = strided ? 11 : 0, oOff = strided ? 7 : 0, wOff = strided ? 4 : 0, bOff = strided ? 2 : 0;
        float[] x = random(rnd, xOff + m * ldx);
        float[] w = random(rnd, wOff + n * ldw);
        float[] bias = withBias ? random(rnd, bOff + n) : null;
        float[] out = new float[oOff + m * ldo + 3];
        java.util.Arrays.fill(out, Float.NaN); // padding must stay NaN; without accumulate, NaN must not leak
        float[] before = new float[m * n];
        for (int r = 0; r < m; r++) {
            for (int c = 0; c < n; c++) {
                if (accumulate) {
                    before[r * n + c] = (float) (rnd.nextDouble() * 2 - 1);
                    out[oOff + r * ldo + c] = before[r * n + c];
                }
            }
        }
        PackedWeights p = gemm.pack(w, wOff, ldw, n, k);
        assertEquals(n, p.n());
        assertEquals(k, p.k());
        gemm.multiply(par, m, x, xOff, ldx, p, bias, bOff, out, oOff, ldo, accumulate);
        String what = "m=" + m + " n=" + n + " k=" + k + " bias=" + withBias + " accumulate=" + accumulate
                + " strided=" + strided + " threads=" + par.threads();
        for (int r = 0; r < m; r++) {
            for (int c = 0; c < n; c++) {
                double ref = 0, mag = 0;
                for (int j = 0; j < k; j++) {
                    double t = (double) x[xOff + r * ldx + j] * w[wOff + c * ldw + j];
                    ref += t;
                    mag += Math.abs(t);
                }
                if (withBias) {
                    ref += bias[bOff + c];
                    mag += Math.abs(bias[bOff + c]);
                }
                if (accumulate) {
                    ref += before[r * n + c];
                    mag += Math.abs(before[r * n + c]);
                }
                float got = out[oOff + r * ldo + c];
                if (!(Math.abs(got - ref) <= 1e-5 * mag + 1e-30)) {
                    fail(what + ": out[" + r + ", " + c + "] = " + got + ", reference " + ref);
                }
            }
            for (int c = n; c < ldo && oOff + r * ldo + c < out.length; c++) {
                if (!Float.isNaN(out[oOff + r * ldo + c])) {
                    fail(what + ": padding out[" + r + ", " + c + "] was overwritten with " + out[oOff + r * ldo + c]);
                }
            }
        }
        for (int i = 0; i < oOff; i++) {
            assertTrue(Float.isNaN(out[i]), what + ": element before the output was overwritten");
        }
        for (int i = oOff + (m - 1) * ldo + n; i < out.length; i++) {
            assertTrue(Float.isNaN(out[i]), what + ": element after the output was overwritten");
        }
    }

    private static void assertArrayEquals(float[] expected, float[] actual) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, actual);
    }

    private static float[] random(SplittableRandom rnd, int size) {
        float[] v = new float[size];
        for (int i = 0; i < size; i++) {
            v[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return v;
    }
}
