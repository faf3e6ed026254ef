package dev.mamba.kernels.cpu;

import dev.mamba.kernels.DType;
import dev.mamba.kernels.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The backend's linear and selectiveScan, which run the vectorized kernels, on column views of wider
 * tensors (as the Mamba block slices in_proj and x_proj outputs), against double-precision references
 * written from the Backend Javadoc.
 */
class CpuBackendVectorTest {
    private CpuBackend be;

    @BeforeEach
    void open() {
        be = new CpuBackend(2);
    }

    @AfterEach
    void close() {
        be.close();
    }

    @Test
    void usesTheVectorKernels() {
        org.junit.jupiter.api.Assumptions.assumeFalse(Boolean.getBoolean("mamba.cpu.scalar"), "scalar forced");
        assertTrue(be.describe().contains("gemm vector-") && be.describe().contains("scan vector-"), be.describe());
    }

    @Test
    void linearOnColumnViews() {
        SplittableRandom rnd = new SplittableRandom(11);
        int m = 37, k = 70, n = 45;
        // x is the right half of a [m, 2k+3] tensor, out the middle of a [m, n+9] tensor.
        float[] wide = random(rnd, m * (2 * k + 3));
        Tensor xw = be.upload("xz", wide, m, 2 * k + 3, DType.F32);
        Tensor x = xw.columns(k + 3, 2 * k + 3);
        float[] wv = random(rnd, n * k);
        Tensor w = be.upload("w", wv, n, k, DType.F32);
        float[] bv = random(rnd, n);
        Tensor bias = be.upload("bias", bv, 1, n, DType.F32);
        float[] outInit = random(rnd, m * (n + 9));
        Tensor ow = be.upload("out", outInit, m, n + 9, DType.F32);
        Tensor out = ow.columns(4, 4 + n);
        for (boolean accumulate : new boolean[]{false, true}) {
            for (boolean withBias : new boolean[]{false, true}) {
                be.write(ow, outInit, 0);
                be.linear(x, w, withBias ? bias : null, out, accumulate);
                float[] got = new float[m * (n + 9)];
                be.read(ow, got, 0);
                for (int r = 0; r < m; r++) {
                    for (int c = 0; c < n + 9; c++) {
                        float before = outInit[r * (n + 9) + c];
                        float g = got[r * (n + 9) + c];
                        if (c < 4 || c >= 4 + n) {
                            assertEquals(before, g, "column " + c + " outside the view changed");
                            continue;
                        }
                        int o = c - 4;
                        double ref = 0, mag = 0;
                        for (int j = 0; j < k; j++) {
                            double t = (double) wide[r * (2 * k + 3) + k + 3 + j] * wv[o * k + j];
                            ref += t;
                            mag += Math.abs(t);
                        }
                        if (withBias) {
                            ref += bv[o];
                            mag += Math.abs(bv[o]);
                        }
                        if (accumulate) {
                            ref += before;
                            mag += Math.abs(before);
                        }
                        if (Math.abs(g - ref) > 1e-5 * mag) {
                            fail("linear accumulate=" + accumulate + " bias=" + withBias + ": out[" + r + ", " + o
                                    + "] = " + g + ", reference " + ref);
                        }
                    }
                }
            }
        }
    }

    @Test
    void selectiveScanOnViewsWithRaggedLanesAndCarriedState() {
        SplittableRandom rnd = new SplittableRandom(5);
        int lanes = 3, steps = 12, d = 75, n = 16, rank = 5;
        int rows = lanes * steps;
        // in_proj output [rows, 2d] split into u | z; x_proj output [rows, rank + 2n] split into dt-low | B | C.
        float[] xz = random(rnd, rows * 2 * d);
        float[] xdbl = random(rnd, rows * (rank + 2 * n));
        float[] dtRaw = new float[rows * (d + 2)];
        for (int i = 0; i < dtRaw.length; i++) {
            dtRaw[i] = (float) (rnd.nextDouble() * 6 - 4);
        }
        float[] dtBias = random(rnd, d);
        float[] aNeg = new float[d * n];
        for (int i = 0; i < aNeg.length; i++) {
            aNeg[i] = -(float) (1 + (i % n));
        }
        float[] dSkip = random(rnd, d);
        float[] state0 = random(rnd, lanes * d * n);
        int[] lens = {steps, 7, 0};

        Tensor xzT = be.upload("xz", xz, rows, 2 * d, DType.F32);
        Tensor u = xzT.columns(0, d), z = xzT.columns(d, 2 * d);
        Tensor xdblT = be.upload("x_dbl", xdbl, rows, rank + 2 * n, DType.F32);
        Tensor b = xdblT.columns(rank, rank + n), c = xdblT.columns(rank + n, rank + 2 * n);
        Tensor dtW = be.upload("dt", dtRaw, rows, d + 2, DType.F32);
        Tensor dt = dtW.columns(1, d + 1);
        Tensor dtB = be.upload("dt_bias", dtBias, 1, d, DType.F32);
        Tensor a = be.upload("A", aNeg, d, n, DType.F32);
        Tensor ds = be.upload("D", dSkip, 1, d, DType.F32);
        Tensor state = be.upload("state", state0, lanes, d * n, DType.F32);
        Tensor lensT = be.allocate("lens", lanes, 1, DType.I32);
        be.write(lensT, lens, 0);
        Tensor yW = be.allocate("y", rows, d + 6, DType.F32);
        be.fill(yW, 123f);
        Tensor y = yW.columns(3, 3 + d);

        // Reference: every lane from state0 over its valid steps, in double precision.
        double[] h = new double[lanes * d * n];
        for (int i = 0; i < h.length; i++) {
            h[i] = state0[i];
        }
        double[] yRef = new double[rows * d];
        for (int l = 0; l < lanes; l++) {
            for (int t = 0; t < lens[l]; t++) {
                int r = l * steps + t;
                for (int ch = 0; ch < d; ch++) {
                    double x = dtRaw[r * (d + 2) + 1 + ch] + dtBias[ch];
                    double delta = x > 20 ? x : Math.log1p(Math.exp(x));
                    double uv = xz[r * 2 * d + ch];
                    double acc = 0;
                    for (int s = 0; s < n; s++) {
                        int hi = l * d * n + ch * n + s;
                        h[hi] = Math.exp(delta * aNeg[ch * n + s]) * h[hi]
                                + delta * uv * xdbl[r * (rank + 2 * n) + rank + s];
                        acc += h[hi] * xdbl[r * (rank + 2 * n) + rank + n + s];
                    }
                    double zv = xz[r * 2 * d + d + ch];
                    yRef[r * d + ch] = (acc + dSkip[ch] * uv) * zv / (1 + Math.exp(-zv));
                }
            }
        }

        // One call over all lanes with ragged lens.
        be.selectiveScan(u, dt, dtB, a, b, c, ds, z, state, lensT, y);
        checkScan("one call", yW, state, yRef, h, lanes, steps, d, n, lens);

        // Again from state0 in two chunks per lane, the second continuing from the carried state.
        be.write(state, state0, 0);
        be.fill(yW, 123f);
        int half = steps / 2;
        for (int l = 0; l < lanes; l++) {
            for (int chunk = 0; chunk < 2; chunk++) {
                int r0 = l * steps + chunk * half;
                Tensor laneLens = be.allocate("lens1", 1, 1, DType.I32);
                be.write(laneLens, new int[]{Math.max(0, Math.min(half, lens[l] - chunk * half))}, 0);
                be.selectiveScan(u.rows(r0, r0 + half), dt.rows(r0, r0 + half), dtB, a, b.rows(r0, r0 + half),
                        c.rows(r0, r0 + half), ds, z.rows(r0, r0 + half), state.rows(l, l + 1), laneLens,
                        y.rows(r0, r0 + half));
                be.free(laneLens);
            }
        }
        checkScan("two chunks", yW, state, yRef, h, lanes, steps, d, n, lens);
    }

    private void checkScan(String how, Tensor yW, Tensor state, double[] yRef, double[] hRef, int lanes, int steps,
                           int d, int n, int[] lens) {
        float[] yGot = new float[yW.rows() * yW.cols()];
        be.read(yW, yGot, 0);
        float[] stGot = new float[lanes * d * n];
        be.read(state, stGot, 0);
        int ld = d + 6;
        for (int l = 0; l < lanes; l++) {
            for (int t = 0; t < steps; t++) {
                int r = l * steps + t;
                for (int col = 0; col < ld; col++) {
                    float g = yGot[r * ld + col];
                    if (col < 3 || col >= 3 + d || t >= lens[l]) {
                        assertEquals(123f, g, how + ": y outside the view or past lens changed at row " + r
                                + " column " + col);
                        continue;
                    }
                    double ref = yRef[r * d + col - 3];
                    if (Math.abs(g - ref) > 1e-5 * Math.abs(ref) + 1e-5) {
                        fail(how + ": y[" + r + ", " + (col - 3) + "] = " + g + ", reference " + ref);
                    }
                }
            }
        }
        for (int i = 0; i < hRef.length; i++) {
            if (Math.abs(stGot[i] - hRef[i]) > 1e-5 * Math.abs(hRef[i]) + 1e-5) {
                fail(how + ": state[" + i + "] = " + stGot[i] + ", reference " + hRef[i]);
            }
        }
    }

    private static float[] random(SplittableRandom rnd, int size) {
        float[] v = new float[size];
        for (int i = 0; i < size; i++) {
            v[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return v;
    }
}
