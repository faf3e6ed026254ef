package dev.mamba.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Selective scan vectorized across channels: one vector holds L consecutive channels d, so each step's
 * h[d, n] update and the Σ_n h·C reduction are plain lane-wise FMAs with no horizontal sum. The group's
 * state lives in a small [n][L] scratch (transposed from and back to the [d][n] state layout once per
 * call). Channels left over after whole groups take the scalar path.
 */
final class VectorScan implements ScanKernel {
    private static final VectorSpecies<Float> S = VectorMath.S;
    private static final int L = S.length();
    /** Channels per work item: a multiple of the vector width, small enough to spread over threads. */
    private static final int BLOCK = Math.max(64, L);

    private final ScalarScan tail = new ScalarScan();

    /** Refuses species too narrow to pay (ScanKernels then falls back to the scalar scan). */
    VectorScan() {
        if (L < 4) {
            throw new UnsupportedOperationException("preferred float vector has " + L + " lanes, need at least 4");
        }
    }

    @Override
    public String name() {
        return "vector-" + S.vectorBitSize();
    }

    @Override
    public int channelBlock() {
        return BLOCK;
    }

    @Override
    public void scan(Args p, int d0, int d1) {
        final int n = p.n();
        float[] h = new float[n * L];
        float[] a = new float[n * L];
        int d = d0;
        for (; d + L <= d1; d += L) {
            group(p, d, h, a);
        }
        if (d < d1) {
            tail.scan(p, d, d1);
        }
    }

    /** Channels [g, g + L) over the lane's steps; h and a are [n][L] scratch. */
    private static void group(Args p, int g, float[] h, float[] a) {
        final int n = p.n();
        final float[] st = p.state();
        final int so = p.stateOff();
        for (int j = 0; j < L; j++) {
            int sRow = so + (g + j) * n;
            int aRow = p.aOff() + (g + j) * p.lda();
            for (int s = 0; s < n; s++) {
                h[s * L + j] = st[sRow + s];
                a[s * L + j] = p.a()[aRow + s];
            }
        }
        final float[] u = p.u(), dt = p.dt(), b = p.b(), c = p.c(), z = p.z(), y = p.y();
        final FloatVector bias = FloatVector.fromArray(S, p.dtBias(), p.dtBiasOff() + g);
        final FloatVector dSkip = FloatVector.fromArray(S, p.dSkip(), p.dSkipOff() + g);
        final int len = p.len(), row0 = p.row0();
        final int uOff = p.uOff() + g, ldu = p.ldu(), dtOff = p.dtOff() + g, lddt = p.lddt();
        final int bOff = p.bOff(), ldb = p.ldb(), cOff = p.cOff(), ldc = p.ldc();
        final int zOff = p.zOff() + g, ldz = p.ldz(), yOff = p.yOff() + g, ldy = p.ldy();
        for (int t = 0; t < len; t++) {
            int r = row0 + t;
            FloatVector uv = FloatVector.fromArray(S, u, uOff + r * ldu);
            FloatVector delta = VectorMath.softplus(FloatVector.fromArray(S, dt, dtOff + r * lddt).add(bias));
            FloatVector du = delta.mul(uv);
            int bo = bOff + r * ldb, co = cOff + r * ldc;
            // Two partial sums over n halve the FMA latency chain of the reduction.
            FloatVector acc0 = FloatVector.zero(S), acc1 = FloatVector.zero(S);
            int s = 0;
            for (; s + 1 < n; s += 2) {
                int i0 = s * L, i1 = i0 + L;
                FloatVector h0 = VectorMath.exp(delta.mul(FloatVector.fromArray(S, a, i0)))
                        .fma(FloatVector.fromArray(S, h, i0), du.mul(b[bo + s]));
                FloatVector h1 = VectorMath.exp(delta.mul(FloatVector.fromArray(S, a, i1)))
                        .fma(FloatVector.fromArray(S, h, i1), du.mul(b[bo + s + 1]));
                h0.intoArray(h, i0);
                h1.intoArray(h, i1);
                acc0 = h0.fma(FloatVector.broadcast(S, c[co + s]), acc0);
                acc1 = h1.fma(FloatVector.broadcast(S, c[co + s + 1]), acc1);
            }
            if (s < n) {
                int i0 = s * L;
                FloatVector h0 = VectorMath.exp(delta.mul(FloatVector.fromArray(S, a, i0)))
                        .fma(FloatVector.fromArray(S, h, i0), du.mul(b[bo + s]));
                h0.intoArray(h, i0);
                acc0 = h0.fma(FloatVector.broadcast(S, c[co + s]), acc0);
            }
            FloatVector yv = dSkip.fma(uv, acc0.add(acc1));
            if (z != null) {
                yv = yv.mul(VectorMath.silu(FloatVector.fromArray(S, z, zOff + r * ldz)));
            }
            yv.intoArray(y, yOff + r * ldy);
        }
        for (int j = 0; j < L; j++) {
            int sRow = so + (g + j) * n;
            for (int s = 0; s < n; s++) {
                st[sRow + s] = h[s * L + j];
            }
        }
    }
}
