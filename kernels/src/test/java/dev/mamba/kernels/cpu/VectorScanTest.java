package dev.mamba.kernels.cpu;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** VectorScan against ScalarScan on the same random inputs, strided and offset like the backend's views. */
class VectorScanTest {
    private final VectorScan vector = new VectorScan();
    private final ScalarScan scalar = new ScalarScan();

    @Test
    void isTheBestScanWithTheVectorModule() {
        org.junit.jupiter.api.Assumptions.assumeFalse(Boolean.getBoolean("mamba.cpu.scalar"), "scalar forced");
        assertEquals(vector.name(), ScanKernels.best().name());
        assertEquals(0, vector.channelBlock() % VectorMath.S.length());
    }

    @Test
    void matchesScalarScanOverStatesChannelsAndLengths() {
        int[] states = {1, 4, 8, 16, 17};
        int[] channels = {1, 3, 8, 13, 37, 64, 69};
        int[] lengths = {1, 2, 7, 33};
        long seed = 0;
        for (int n : states) {
            for (int d : channels) {
                for (int len : lengths) {
                    seed++;
                    compare(n, d, len, seed % 2 == 0, (seed % 3) == 0, seed, 0, d);
                }
            }
        }
    }

    @Test
    void subrangesOfChannelsAndUnalignedStarts() {
        compare(16, 100, 20, true, true, 99, 3, 97);
        compare(16, 100, 20, false, true, 98, 64, 100);
        compare(5, 40, 9, true, false, 97, 17, 18);
    }

    @Test
    void extremeStepSizesHitBothSoftplusBranchesAndExpSaturation() {
        // dt far above the threshold (delta = dt) and far below (delta ≈ e^dt), large |A|.
        compare(16, 24, 16, true, false, 5, 0, 24, 30f, 25f);
        compare(16, 24, 16, true, true, 6, 0, 24, -40f, 10f);
    }

    private void compare(int n, int d, int len, boolean withZ, boolean strided, long seed, int d0, int d1) {
        compare(n, d, len, withZ, strided, seed, d0, d1, -1f, 3f);
    }

    /**
     * Builds one lane's inputs (second of two lanes, so row0 > 0) with optional padding between rows and
     * leading offsets, runs both kernels on copies of state and y, and compares outputs and final states.
     */
    private void compare(int n, int d, int len, boolean withZ, boolean strided, long seed, int d0, int d1,
                         float dtCenter, float dtSpread) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int steps = len + 2;
        int rows = 2 * steps;
        int row0 = steps;
        int pad = strided ? 5 : 0, off = strided ? 3 : 0;
        int ld = d + pad, ldbc = n + pad;
        float[] u = fill(rnd, off + rows * ld, 0f, 1f);
        float[] dt = fill(rnd, off + rows * ld, dtCenter, dtSpread);
        float[] dtBias = fill(rnd, off + d, 0f, 1f);
        float[] a = new float[off + d * (n + pad)];
        for (int i = 0; i < a.length; i++) {
            a[i] = -(float) Math.exp(rnd.nextDouble() * Math.log(16)); // A = -exp(A_log), A_log in [0, log 16]
        }
        float[] b = fill(rnd, off + rows * ldbc, 0f, 1f);
        float[] c = fill(rnd, off + rows * ldbc, 0f, 1f);
        float[] dSkip = fill(rnd, off + d, 1f, 0.5f);
        float[] z = withZ ? fill(rnd, off + rows * ld, 0f, 3f) : null;
        float[] state = fill(rnd, off + d * n + 4, 0f, 1f);
        float[] y = new float[off + rows * ld];
        Arrays.fill(y, Float.NaN);

        float[] stateV = state.clone(), stateS = state.clone(), yV = y.clone(), yS = y.clone();
        vector.scan(args(u, dt, dtBias, a, b, c, dSkip, z, stateV, yV, off, ld, ldbc, n, row0, len), d0, d1);
        scalar.scan(args(u, dt, dtBias, a, b, c, dSkip, z, stateS, yS, off, ld, ldbc, n, row0, len), d0, d1);

        String what = "n=" + n + " d=" + d + " [" + d0 + ", " + d1 + ") len=" + len + " z=" + withZ
                + " strided=" + strided;
        double rms = 0;
        int cnt = 0;
        for (int i = 0; i < yS.length; i++) {
            if (!Float.isNaN(yS[i])) {
                rms += (double) yS[i] * yS[i];
                cnt++;
            }
        }
        rms = Math.sqrt(rms / Math.max(1, cnt));
        for (int i = 0; i < y.length; i++) {
            if (Float.isNaN(yS[i]) != Float.isNaN(yV[i])) {
                fail(what + ": y[" + i + "] written by one kernel only: vector " + yV[i] + ", scalar " + yS[i]);
            }
            if (!Float.isNaN(yS[i]) && !close(yV[i], yS[i], rms)) {
                fail(what + ": y[" + i + "] vector " + yV[i] + ", scalar " + yS[i]);
            }
        }
        double srms = 0;
        for (float v : stateS) {
            srms += (double) v * v;
        }
        srms = Math.sqrt(srms / stateS.length);
        for (int i = 0; i < state.length; i++) {
            if (!close(stateV[i], stateS[i], srms)) {
                fail(what + ": state[" + i + "] vector " + stateV[i] + ", scalar " + stateS[i]);
            }
        }
        assertTrue(cnt == len * (d1 - d0), what + ": " + cnt + " outputs written, expected " + len * (d1 - d0));
    }

    /** 1e-5 relative, with a floor of 1e-6 of the typical magnitude for outputs that cancel to near zero. */
    private static boolean close(float got, float ref, double scale) {
        return Math.abs(got - ref) <= 1e-5 * Math.abs(ref) + 1e-6 * scale;
    }

    private static ScanKernel.Args args(float[] u, float[] dt, float[] dtBias, float[] a, float[] b, float[] c,
                                        float[] dSkip, float[] z, float[] state, float[] y, int off, int ld, int ldbc,
                                        int n, int row0, int len) {
        return new ScanKernel.Args(u, off, ld, dt, off, ld, dtBias, off, a, off, ldbc, b, off, ldbc, c, off, ldbc,
                dSkip, off, z, z == null ? 0 : off, z == null ? 0 : ld, state, off, y, off, ld, n, row0, len);
    }

    private static float[] fill(SplittableRandom rnd, int size, float center, float spread) {
        float[] v = new float[size];
        for (int i = 0; i < size; i++) {
            v[i] = center + spread * (float) (rnd.nextDouble() * 2 - 1);
        }
        return v;
    }
}
