package dev.mamba.kernels.cpu;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The vectorized exp, softplus and SiLU against the JDK's scalar functions. */
class VectorMathTest {
    private static final int L = VectorMath.L;

    /** Distance in units in the last place between two finite floats of the same sign (or zero). */
    private static long ulps(float a, float b) {
        if (a == b) {
            return 0;
        }
        int ia = Float.floatToIntBits(a), ib = Float.floatToIntBits(b);
        if ((ia ^ ib) < 0) { // opposite signs: count through zero
            return Math.abs((long) (ia & 0x7fffffff)) + Math.abs((long) (ib & 0x7fffffff));
        }
        return Math.abs((long) ia - ib);
    }

    private static float[] exp(float[] xs) {
        // Pad to whole vectors so that every input goes through the vector path, not the scalar tail.
        int padded = (xs.length + L - 1) / L * L;
        float[] v = java.util.Arrays.copyOf(xs, padded);
        VectorMath.exp(v, 0, padded);
        return java.util.Arrays.copyOf(v, xs.length);
    }

    private static float[] softplus(float[] xs) {
        int padded = (xs.length + L - 1) / L * L;
        float[] v = java.util.Arrays.copyOf(xs, padded);
        VectorMath.softplus(v, 0, padded, new float[padded]);
        return java.util.Arrays.copyOf(v, xs.length);
    }

    private static float[] silu(float[] xs) {
        int padded = (xs.length + L - 1) / L * L;
        float[] z = java.util.Arrays.copyOf(xs, padded);
        float[] y = new float[padded];
        java.util.Arrays.fill(y, 1f);
        VectorMath.siluGate(z, 0, y, 0, padded, new float[padded]);
        return java.util.Arrays.copyOf(y, xs.length);
    }

    @Test
    void expWithinTwoUlpsOverTheWholeNormalRange() {
        // A dense sweep of [-87.3, 88.7] (results normal) plus random points.
        int count = 400_001;
        float[] xs = new float[count + 100_000];
        for (int i = 0; i < count; i++) {
            xs[i] = (float) (-87.3 + (88.7 + 87.3) * i / (count - 1));
        }
        SplittableRandom rnd = new SplittableRandom(1);
        for (int i = count; i < xs.length; i++) {
            xs[i] = (float) (rnd.nextDouble() * 40 - 30);
        }
        float[] got = exp(xs);
        long worst = 0;
        float worstX = 0;
        for (int i = 0; i < xs.length; i++) {
            float ref = (float) Math.exp(xs[i]);
            long u = ulps(got[i], ref);
            if (u > worst) {
                worst = u;
                worstX = xs[i];
            }
        }
        assertTrue(worst <= 2, "exp: worst error " + worst + " ulp at x = " + worstX);
    }

    @Test
    void expNearZeroAndSmallArguments() {
        float[] xs = {0f, -0f, 1e-30f, -1e-30f, 1e-7f, -1e-7f, 0.5f, -0.5f, 0.34657359f, -0.34657359f, 1f, -1f,
                Float.MIN_VALUE, 2f, -2f, 10f, -10f, 0.6931472f, -0.6931472f};
        float[] got = exp(xs);
        for (int i = 0; i < xs.length; i++) {
            long u = ulps(got[i], (float) Math.exp(xs[i]));
            assertTrue(u <= 1, "exp(" + xs[i] + ") = " + got[i] + ", Math.exp " + (float) Math.exp(xs[i]));
        }
    }

    @Test
    void expSaturatesWithoutNaN() {
        float[] xs = {-87.5f, -95f, -100f, -103.9f, -104f, -105f, -200f, -1e6f, -Float.MAX_VALUE,
                Float.NEGATIVE_INFINITY, 88.5f, 88.72f, 88.73f, 89f, 100f, 1e6f, Float.MAX_VALUE,
                Float.POSITIVE_INFINITY};
        float[] got = exp(xs);
        for (int i = 0; i < xs.length; i++) {
            float ref = (float) Math.exp(xs[i]);
            assertTrue(!Float.isNaN(got[i]), "exp(" + xs[i] + ") is NaN");
            if (Float.isInfinite(ref) || ref >= Float.MIN_NORMAL) {
                assertTrue(ulps(got[i], ref) <= 2, "exp(" + xs[i] + ") = " + got[i] + ", Math.exp " + ref);
            } else {
                // Subnormal or zero results: within one subnormal step of the JDK's.
                assertTrue(Math.abs(got[i] - ref) <= 2 * Float.MIN_VALUE, "exp(" + xs[i] + ") = " + got[i]
                        + ", Math.exp " + ref);
            }
        }
        assertEquals(0f, exp(new float[]{-1000f})[0]);
        assertEquals(Float.POSITIVE_INFINITY, exp(new float[]{1000f})[0]);
        assertTrue(Float.isNaN(exp(new float[]{Float.NaN})[0]));
    }

    @Test
    void softplusMatchesScalarWithThreshold() {
        int count = 200_001;
        float[] xs = new float[count + 12];
        for (int i = 0; i < count; i++) {
            xs[i] = (float) (-110 + 140.0 * i / (count - 1));
        }
        float[] special = {20f, Math.nextUp(20f), Math.nextDown(20f), 19.99f, 0f, -0f, 1e-8f, -1e-8f, 0.4f, 0.5f,
                -0.3f, 50f};
        System.arraycopy(special, 0, xs, count, special.length);
        float[] got = softplus(xs);
        long worst = 0;
        float worstX = 0;
        for (int i = 0; i < xs.length; i++) {
            float ref = ScanKernel.softplus(xs[i]);
            long u = ulps(got[i], ref);
            if (u > worst) {
                worst = u;
                worstX = xs[i];
            }
        }
        assertTrue(worst <= 3, "softplus: worst error " + worst + " ulp at x = " + worstX);
        // Above the threshold the input comes back unchanged, as in PyTorch.
        float[] above = softplus(new float[]{20.5f, 1e4f, Float.MAX_VALUE});
        assertEquals(20.5f, above[0]);
        assertEquals(1e4f, above[1]);
        assertEquals(Float.MAX_VALUE, above[2]);
    }

    @Test
    void rangesWithTailsTouchOnlyTheirElements() {
        for (int from : new int[]{0, 1, 5}) {
            for (int count : new int[]{0, 1, L - 1, L, L + 3, 3 * L + 1}) {
                float[] v = new float[from + count + 4];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (i % 7) * 0.75f - 2f;
                }
                float[] e = v.clone(), sp = v.clone(), g = new float[v.length];
                java.util.Arrays.fill(g, 2f);
                VectorMath.exp(e, from, from + count);
                VectorMath.softplus(sp, from, from + count, new float[count]);
                VectorMath.siluGate(v, from, g, from, count, new float[count]);
                for (int i = 0; i < v.length; i++) {
                    boolean in = i >= from && i < from + count;
                    String at = "from " + from + " count " + count + " index " + i;
                    assertEquals(in ? (float) Math.exp(v[i]) : v[i], e[i], Math.ulp((float) Math.exp(v[i])) * 2,
                            "exp " + at);
                    assertEquals(in ? ScanKernel.softplus(v[i]) : v[i], sp[i], Math.ulp(ScanKernel.softplus(v[i])) * 3,
                            "softplus " + at);
                    assertEquals(in ? 2f * CpuBackend.silu(v[i]) : 2f, g[i], 1e-6f, "silu gate " + at);
                }
            }
        }
    }

    @Test
    void siluMatchesScalar() {
        int count = 100_001;
        float[] xs = new float[count + 4];
        for (int i = 0; i < count; i++) {
            xs[i] = (float) (-120 + 240.0 * i / (count - 1));
        }
        xs[count] = -1000f;
        xs[count + 1] = 1000f;
        xs[count + 2] = 0f;
        xs[count + 3] = -Float.MAX_VALUE;
        float[] got = silu(xs);
        for (int i = 0; i < xs.length; i++) {
            float ref = CpuBackend.silu(xs[i]);
            assertTrue(!Float.isNaN(got[i]), "silu(" + xs[i] + ") is NaN");
            if (Math.abs(got[i] - ref) > 3e-7 * Math.abs(ref) + 1e-35) {
                fail("silu(" + xs[i] + ") = " + got[i] + ", scalar " + ref);
            }
        }
    }
}
