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
    /** Steps per chunk: the chunk's softplus outputs ([STEPS][L] floats) stay in L1 for the recurrence. */
    private static final int STEPS = 64;

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
        Scratch w = SCRATCH.get();
        if (w.n < n) {
            w = new Scratch(n);
            SCRATCH.set(w);
        }
        int d = d0;
        for (; d + L <= d1; d += L) {
            group(p, d, w);
        }
        if (d < d1) {
            tail.scan(p, d, d1);
        }
    }

    /** Per-thread work arrays: [n][L] for h, A and exp(δ·A); [STEPS][L] for one chunk of steps. */
    private static final class Scratch {
        final int n;
        final float[] h;
        final float[] a;
        final float[] e;
        final float[] delta = new float[STEPS * L];
        final float[] u = new float[STEPS * L];
        final float[] y = new float[STEPS * L];
        final float[] z = new float[STEPS * L];
        final float[] tmp;

        Scratch(int n) {
            this.n = n;
            h = new float[n * L];
            a = new float[n * L];
            e = new float[n * L];
            tmp = new float[Math.max(n, STEPS) * L];
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(() -> new Scratch(16));

    /**
     * Channels [g, g + L) over the lane's steps, a chunk of STEPS steps at a time: gather the chunk's
     * δ, u (and z) rows into contiguous [step][L] scratch, softplus all δ at once, run the recurrence,
     * gate, and scatter y back. The transcendental functions run over whole scratch arrays (see
     * VectorMath for why they never take vectors).
     */
    private static void group(Args p, int g, Scratch w) {
        final int n = p.n();
        final float[] st = p.state(), h = w.h, a = w.a;
        final int so = p.stateOff();
        for (int j = 0; j < L; j++) {
            int sRow = so + (g + j) * n;
            int aRow = p.aOff() + (g + j) * p.lda();
            for (int s = 0; s < n; s++) {
                h[s * L + j] = st[sRow + s];
                a[s * L + j] = p.a()[aRow + s];
            }
        }
        final FloatVector bias = FloatVector.fromArray(S, p.dtBias(), p.dtBiasOff() + g);
        final float[] dt = p.dt(), u = p.u(), z = p.z(), y = p.y();
        final int len = p.len();
        for (int t0 = 0; t0 < len; t0 += STEPS) {
            int steps = Math.min(STEPS, len - t0);
            int r0 = p.row0() + t0;
            for (int t = 0; t < steps; t++) {
                int r = r0 + t;
                FloatVector.fromArray(S, dt, p.dtOff() + r * p.lddt() + g).add(bias).intoArray(w.delta, t * L);
                FloatVector.fromArray(S, u, p.uOff() + r * p.ldu() + g).intoArray(w.u, t * L);
            }
            VectorMath.softplus(w.delta, 0, steps * L, w.tmp);
            recurrence(p.b(), p.bOff() + r0 * p.ldb(), p.ldb(), p.c(), p.cOff() + r0 * p.ldc(), p.ldc(), n, w,
                    p.dSkip(), p.dSkipOff() + g, steps);
            if (z != null) {
                for (int t = 0; t < steps; t++) {
                    FloatVector.fromArray(S, z, p.zOff() + (r0 + t) * p.ldz() + g).intoArray(w.z, t * L);
                }
                VectorMath.siluGate(w.z, 0, w.y, 0, steps * L, w.tmp);
            }
            for (int t = 0; t < steps; t++) {
                FloatVector.fromArray(S, w.y, t * L).intoArray(y, p.yOff() + (r0 + t) * p.ldy() + g);
            }
        }
        for (int j = 0; j < L; j++) {
            int sRow = so + (g + j) * n;
            for (int s = 0; s < n; s++) {
                st[sRow + s] = h[s * L + j];
            }
        }
    }

    /**
     * For each step of the chunk: h = exp(δ·A)·h + δ·u·B per state and y = Σ_n h·C + D·u (before the
     * gate), from the chunk's δ and u in scratch into its y scratch.
     */
    private static void recurrence(float[] b, int bAt, int ldb, float[] c, int cAt, int ldc, int n, Scratch w,
                                   float[] dSkipArr, int dSkipAt, int steps) {
        final float[] h = w.h, a = w.a, e = w.e;
        final FloatVector dSkip = FloatVector.fromArray(S, dSkipArr, dSkipAt);
        final int nl = n * L;
        for (int t = 0; t < steps; t++) {
            FloatVector dl = FloatVector.fromArray(S, w.delta, t * L);
            FloatVector uv = FloatVector.fromArray(S, w.u, t * L);
            for (int i = 0; i < nl; i += L) {
                dl.mul(FloatVector.fromArray(S, a, i)).intoArray(e, i);
            }
            VectorMath.exp(e, 0, nl);
            FloatVector du = dl.mul(uv);
            int bo = bAt + t * ldb, co = cAt + t * ldc;
            FloatVector acc = dSkip.mul(uv);
            for (int s = 0, i = 0; s < n; s++, i += L) {
                FloatVector hv = FloatVector.fromArray(S, e, i)
                        .fma(FloatVector.fromArray(S, h, i), du.mul(b[bo + s]));
                hv.intoArray(h, i);
                acc = hv.fma(FloatVector.broadcast(S, c[co + s]), acc);
            }
            acc.intoArray(w.y, t * L);
        }
    }
}
