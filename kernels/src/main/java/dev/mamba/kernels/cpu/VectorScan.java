package dev.mamba.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Selective scan vectorized across channels: one vector holds L consecutive channels d, so each step's
 * h[d, n] update and the Σ_n h·C reduction are plain lane-wise FMAs with no horizontal sum. The state of
 * a block of channels lives in a small [group][n][L] scratch, transposed from and back to the [d][n]
 * state layout once per call. Channels left over after whole groups of L take the scalar path.
 */
final class VectorScan implements ScanKernel {
    private static final VectorSpecies<Float> S = VectorMath.S;
    private static final int L = S.length();
    /** Channels per work item: a multiple of the vector width, small enough to spread over threads. */
    private static final int BLOCK = Math.max(64, L);
    /** Steps per chunk: the chunk's exp(δ·A) scratch ([STEPS][n][L] floats, 32 KiB for n = 16) stays in cache. */
    private static final int STEPS = 64;
    /** Groups of L channels per work item. */
    private static final int GROUPS = BLOCK / L;

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
        while (d + L <= d1) {
            int groups = Math.min(GROUPS, (d1 - d) / L);
            block(p, d, groups, w);
            d += groups * L;
        }
        if (d < d1) {
            tail.scan(p, d, d1);
        }
    }

    /** Per-thread work arrays: [GROUPS][n][L] for h and A, [STEPS][n][L] for exp(δ·A), [STEPS][L] for rows. */
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
            h = new float[GROUPS * n * L];
            a = new float[GROUPS * n * L];
            e = new float[STEPS * n * L];
            tmp = new float[Math.max(n, STEPS) * L];
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(() -> new Scratch(16));

    /**
     * Channels [d, d + groups·L) over the lane's steps, a chunk of STEPS steps at a time and, within a
     * chunk, one group of L channels after another (so the chunk's rows of u, dt, z and y, a few cache
     * lines each, are read and written while in cache). Per group and chunk: gather δ, u (and z) into
     * contiguous [step][L] scratch, softplus all δ at once, run the recurrence, gate, scatter y back. The
     * transcendental functions run over whole scratch arrays (see VectorMath for why they never take
     * vectors).
     */
    private static void block(Args p, int d, int groups, Scratch w) {
        final int n = p.n(), nl = n * L;
        final float[] st = p.state(), h = w.h, a = w.a;
        final int so = p.stateOff();
        for (int j = 0; j < groups * L; j++) {
            int sRow = so + (d + j) * n;
            int aRow = p.aOff() + (d + j) * p.lda();
            int hAt = (j / L) * nl + j % L;
            for (int s = 0; s < n; s++) {
                h[hAt + s * L] = st[sRow + s];
                a[hAt + s * L] = p.a()[aRow + s];
            }
        }
        final float[] dt = p.dt(), u = p.u(), z = p.z(), y = p.y();
        final int len = p.len();
        for (int t0 = 0; t0 < len; t0 += STEPS) {
            int steps = Math.min(STEPS, len - t0);
            int r0 = p.row0() + t0;
            for (int gi = 0; gi < groups; gi++) {
                int g = d + gi * L;
                FloatVector bias = FloatVector.fromArray(S, p.dtBias(), p.dtBiasOff() + g);
                for (int t = 0; t < steps; t++) {
                    int r = r0 + t;
                    FloatVector.fromArray(S, dt, p.dtOff() + r * p.lddt() + g).add(bias).intoArray(w.delta, t * L);
                    FloatVector.fromArray(S, u, p.uOff() + r * p.ldu() + g).intoArray(w.u, t * L);
                }
                VectorMath.softplus(w.delta, 0, steps * L, w.tmp);
                recurrence(p.b(), p.bOff() + r0 * p.ldb(), p.ldb(), p.c(), p.cOff() + r0 * p.ldc(), p.ldc(), n, w,
                        gi * nl, p.dSkip(), p.dSkipOff() + g, steps);
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
        }
        for (int j = 0; j < groups * L; j++) {
            int sRow = so + (d + j) * n;
            int hAt = (j / L) * nl + j % L;
            for (int s = 0; s < n; s++) {
                st[sRow + s] = h[hAt + s * L];
            }
        }
    }

    /**
     * For each step of the chunk: h = exp(δ·A)·h + δ·u·B per state and y = Σ_n h·C + D·u (before the
     * gate), from the chunk's δ and u in scratch into its y scratch.
     */
    private static void recurrence(float[] b, int bAt, int ldb, float[] c, int cAt, int ldc, int n, Scratch w,
                                   int hAt, float[] dSkipArr, int dSkipAt, int steps) {
        final float[] h = w.h, a = w.a, e = w.e;
        final FloatVector dSkip = FloatVector.fromArray(S, dSkipArr, dSkipAt);
        final int nl = n * L;
        // exp(δ·A) for the whole chunk in one call: one long loop pipelines better than a call per step.
        for (int t = 0; t < steps; t++) {
            FloatVector dl = FloatVector.fromArray(S, w.delta, t * L);
            for (int i = 0, o = t * nl; i < nl; i += L, o += L) {
                dl.mul(FloatVector.fromArray(S, a, hAt + i)).intoArray(e, o);
            }
        }
        VectorMath.exp(e, 0, steps * nl);
        for (int t = 0; t < steps; t++) {
            FloatVector uv = FloatVector.fromArray(S, w.u, t * L);
            FloatVector du = FloatVector.fromArray(S, w.delta, t * L).mul(uv);
            int bo = bAt + t * ldb, co = cAt + t * ldc;
            FloatVector acc = dSkip.mul(uv);
            for (int s = 0, i = hAt, o = t * nl; s < n; s++, i += L, o += L) {
                FloatVector hv = FloatVector.fromArray(S, e, o)
                        .fma(FloatVector.fromArray(S, h, i), du.mul(b[bo + s]));
                hv.intoArray(h, i);
                acc = hv.fma(FloatVector.broadcast(S, c[co + s]), acc);
            }
            acc.intoArray(w.y, t * L);
        }
    }
}
