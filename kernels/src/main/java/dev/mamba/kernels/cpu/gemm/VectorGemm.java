package dev.mamba.kernels.cpu.gemm;

import dev.mamba.kernels.cpu.CpuParallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * fp32 GEMM on the Vector API. W is packed once into panels of {@code NR = 2·L} output columns (L = lanes
 * of the preferred species); each task packs its rows of x, one K block at a time, into strips of MR rows;
 * a 6 × 2L register tile (12 accumulators, which with two weight vectors and one broadcast fill AVX2's 16
 * registers) runs one strip, held in L1, across a slab of panels held in L2. Tasks (row chunk × column
 * chunk) go to the worker pool.
 */
public final class VectorGemm implements Gemm {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    /** Rows per register tile. */
    static final int MR = 6;
    /** Output columns per register tile and per packed panel. */
    static final int NR = 2 * L;
    // Cache budget (Zen 3: 32 KiB L1d, 512 KiB L2 per core). While one strip of x (MR × KC, 6 KiB) sweeps
    // a slab of weights, L2 holds the task's packed x (MC × KC), the slab (KC × NB) and the outputs the
    // slab touches (MC × NB): 96 KiB + ≤ 160 KiB + ≤ 128 KiB. Letting these overflow L2 (MC = 192 with a
    // 192 KiB slab) measured about 1.5× slower for K = 1536.
    /** Largest K block. */
    static final int KC_MAX = 256;
    /** Largest row chunk of one task. */
    static final int MC_MAX = 96;
    /** Largest slab of packed weights, in floats (160 KiB). */
    static final int SLAB_FLOATS = 40 * 1024;
    /** Largest block of outputs one slab pass touches, in floats (128 KiB). */
    static final int OUT_FLOATS = 32 * 1024;
    /** Smallest row chunk worth a task of its own when splitting rows for more threads. */
    static final int MC_MIN = 48;
    /** Largest column chunk of one task, so that very wide products (vocabulary heads) split for balance. */
    static final int NC_MAX = 4096;

    /** Always 1; read from a non-final field so that C2 cannot count, hence not unroll, the kernel loop. */
    private static int kernelStep = 1;

    /** Per-thread buffer for packed strips of x, grown on demand (at most MC_MAX × KC_MAX floats). */
    private static final ThreadLocal<float[]> STRIPS = ThreadLocal.withInitial(() -> new float[0]);

    /** Public no-arg constructor for {@link Gemms}' lookup by name; refuses species too narrow to pay. */
    public VectorGemm() {
        if (L < 4) {
            throw new UnsupportedOperationException("preferred float vector has " + L + " lanes, need at least 4");
        }
    }

    /** W [N, K] as ⌈N / NR⌉ panels, each K rows of NR floats ({@code w[n0 + j, k]} at {@code k·NR + j}), zero-padded. */
    static final class Packed implements PackedWeights {
        final float[] panels;
        final int n;
        final int k;

        Packed(float[] panels, int n, int k) {
            this.panels = panels;
            this.n = n;
            this.k = k;
        }

        @Override
        public int n() {
            return n;
        }

        @Override
        public int k() {
            return k;
        }
    }

    @Override
    public String name() {
        return "vector-" + S.vectorBitSize();
    }

    @Override
    public PackedWeights pack(float[] w, int wOff, int ldw, int n, int k) {
        if (n < 0 || k < 0 || (n > 0 && ldw < k)) {
            throw new IllegalArgumentException("pack: weight [" + n + ", " + k + "] with row stride " + ldw);
        }
        int panels = (n + NR - 1) / NR;
        long size = (long) panels * NR * k;
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("pack: weight [" + n + ", " + k + "] padded to " + size
                    + " floats does not fit in one Java array");
        }
        float[] p = new float[(int) size];
        for (int pn = 0; pn < panels; pn++) {
            int base = pn * NR * k;
            int cols = Math.min(NR, n - pn * NR);
            for (int j = 0; j < cols; j++) {
                int src = wOff + (pn * NR + j) * ldw;
                for (int kk = 0; kk < k; kk++) {
                    p[base + kk * NR + j] = w[src + kk];
                }
            }
        }
        return new Packed(p, n, k);
    }

    @Override
    public void multiply(CpuParallel par, int m, float[] x, int xOff, int ldx, PackedWeights pw,
                         float[] bias, int biasOff, float[] out, int outOff, int ldo, boolean accumulate) {
        if (!(pw instanceof Packed)) {
            throw new IllegalArgumentException("weights were packed by " + pw.getClass().getName()
                    + ", not by " + name());
        }
        Packed p = (Packed) pw;
        final int n = p.n, k = p.k;
        if (m <= 0 || n <= 0) {
            return;
        }
        if (ldo < n || (k > 0 && ldx < k)) {
            throw new IllegalArgumentException("multiply: x [" + m + ", " + k + "] · wᵀ [" + k + ", " + n
                    + "] needs ldx ≥ " + k + " and ldo ≥ " + n + ", got ldx " + ldx + ", ldo " + ldo);
        }
        if (k == 0) {
            for (int r = 0; r < m; r++) {
                for (int c = 0; c < n; c++) {
                    float v = bias == null ? 0f : bias[biasOff + c];
                    int o = outOff + r * ldo + c;
                    out[o] = accumulate ? out[o] + v : v;
                }
            }
            return;
        }
        // Row chunks as large as the L2 budget allows, but with threads to feed at least 8 per thread when M allows
        // (so the last round leaves no thread idle for long); when rows alone give too few tasks, split the
        // columns as well (that costs no weight reuse, only packing the same few rows of x again).
        final int threads = par.threads();
        int mc = Math.min(MC_MAX, roundUp(m, MR));
        if (threads > 1) {
            int balanced = roundUp((m + 8 * threads - 1) / (8 * threads), MR);
            mc = Math.min(mc, Math.max(MC_MIN, balanced));
        }
        final int mTasks = (m + mc - 1) / mc;
        final int panels = (n + NR - 1) / NR;
        int want = threads == 1 ? 1 : 4 * threads;
        int nSplit = Math.min(panels, Math.max(1, (want + mTasks - 1) / mTasks));
        int ncPanels = (panels + nSplit - 1) / nSplit;
        ncPanels = Math.min(ncPanels, Math.max(1, NC_MAX / NR));
        final int nc = ncPanels * NR;
        final int nTasks = (n + nc - 1) / nc;
        final int rowChunk = mc;
        // Balance K blocks rather than leave a thin last one.
        final int kBlocks = (k + KC_MAX - 1) / KC_MAX;
        final int kc = (k + kBlocks - 1) / kBlocks;
        // Column chunk outermost, so that concurrent tasks share one weight slab in L3.
        par.forEach(mTasks * nTasks, task -> {
            int nt = task / mTasks, mt = task % mTasks;
            int m0 = mt * rowChunk, m1 = Math.min(m, m0 + rowChunk);
            int n0 = nt * nc, n1 = Math.min(n, n0 + nc);
            block(x, xOff, ldx, p, bias, biasOff, out, outOff, ldo, accumulate, m0, m1, n0, n1, kc);
        });
    }

    private static int roundUp(int v, int to) {
        return (v + to - 1) / to * to;
    }

    /** Rows [m0, m1) × columns [n0, n1) of the product, all of K, on the calling thread. */
    private static void block(float[] x, int xOff, int ldx, Packed p, float[] bias, int biasOff, float[] out,
                              int outOff, int ldo, boolean accumulate, int m0, int m1, int n0, int n1, int kc) {
        final int k = p.k;
        final int strips = (m1 - m0 + MR - 1) / MR;
        float[] ap = STRIPS.get();
        int need = strips * MR * Math.min(kc, k) + MR * NR; // strips, then one tile for the narrow panel
        if (ap.length < need) {
            ap = new float[need];
            STRIPS.set(ap);
        }
        final int tileOff = need - MR * NR;
        for (int k0 = 0; k0 < k; k0 += kc) {
            int kl = Math.min(kc, k - k0);
            packStrips(x, xOff, ldx, m0, m1, k0, kl, ap);
            boolean loadC = k0 > 0 || accumulate;
            float[] b = k0 == 0 ? bias : null;
            // Columns in slabs whose weights (kl × nb) stay in L2 while every strip of x sweeps them; a strip
            // (MR × kl) stays in L1 across the slab, and each output row is written left to right. (Sweeping
            // all strips per panel instead keeps a panel in L1 but jumps between output rows and lines:
            // measured up to 2× slower for K = 1536 and for K = 48.)
            int nb = Math.max(NR, Math.min(SLAB_FLOATS / kl, OUT_FLOATS / (m1 - m0)) / NR * NR);
            for (int s0 = n0; s0 < n1; s0 += nb) {
                int s1 = Math.min(n1, s0 + nb);
                for (int s = 0; s < strips; s++) {
                    for (int c0 = s0; c0 < s1; c0 += NR) {
                        tile(ap, s, kl, p, k0, k, c0, n1, m0, m1, out, outOff, ldo, loadC, b, biasOff, tileOff);
                    }
                }
            }
        }
    }

    /** Strip s of the packed x against the panel at column c0, into out (via ap's scratch tile when narrow). */
    private static void tile(float[] ap, int s, int kl, Packed p, int k0, int k, int c0, int n1, int m0, int m1,
                             float[] out, int outOff, int ldo, boolean loadC, float[] b, int biasOff, int tileOff) {
        int cols = Math.min(NR, n1 - c0);
        int bOff = (c0 / NR) * NR * k + k0 * NR;
        int r0 = m0 + s * MR;
        int rows = Math.min(MR, m1 - r0);
        int o = outOff + r0 * ldo + c0;
        if (cols == NR) {
            kernel(ap, s * MR * kl, p.panels, bOff, kl, out, o, ldo, rows, loadC, b, biasOff + c0);
            return;
        }
        // Narrow last panel (zero-padded in the packing): full tile into scratch, then merge.
        kernel(ap, s * MR * kl, p.panels, bOff, kl, ap, tileOff, NR, MR, false, null, 0);
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) {
                float v = ap[tileOff + r * NR + j];
                if (b != null) {
                    v += b[biasOff + c0 + j];
                }
                int oi = o + r * ldo + j;
                out[oi] = loadC ? out[oi] + v : v;
            }
        }
    }

    /**
     * x[m0..m1, k0..k0+kl] into strips of MR rows, each [kl][MR] ({@code x[r0 + i, k0 + kk]} at
     * {@code s·MR·kl + kk·MR + i}); rows past m1 are zero.
     */
    private static void packStrips(float[] x, int xOff, int ldx, int m0, int m1, int k0, int kl, float[] ap) {
        for (int r0 = m0, s = 0; r0 < m1; r0 += MR, s++) {
            int base = s * MR * kl;
            int rows = Math.min(MR, m1 - r0);
            for (int i = 0; i < MR; i++) {
                if (i < rows) {
                    int src = xOff + (r0 + i) * ldx + k0;
                    for (int kk = 0; kk < kl; kk++) {
                        ap[base + kk * MR + i] = x[src + kk];
                    }
                } else {
                    for (int kk = 0; kk < kl; kk++) {
                        ap[base + kk * MR + i] = 0f;
                    }
                }
            }
        }
    }

    /**
     * One MR × NR tile over kl steps of K: x packed at ap[aOff..] ([kl][MR]), weights at bp[bOff..] ([kl][NR]).
     * The result (plus out if loadC, plus bias[bIdx..] if bias is non-null) goes to the first {@code rows}
     * rows of out at cOff, all NR columns.
     */
    private static void kernel(float[] ap, int aOff, float[] bp, int bOff, int kl, float[] out, int cOff, int ldo,
                               int rows, boolean loadC, float[] bias, int bIdx) {
        // Straight-line body without calls or rare paths, so that C2 intrinsifies every Vector API call and
        // keeps the 12 accumulators in registers. The step comes from a field: a loop C2 cannot count is
        // one it does not unroll, and unrolling makes its scheduler hoist every load of the unrolled body
        // ahead of the FMAs, spilling accumulators to the stack (measured: 2× slower).
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        FloatVector a;
        final int step = kernelStep;
        for (int kk = 0, ai = aOff, bi = bOff; kk < kl; kk += step, ai += MR, bi += NR) {
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
            a = FloatVector.broadcast(S, ap[ai + 0]);
            c00 = a.fma(b0, c00);
            c01 = a.fma(b1, c01);
            a = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = a.fma(b0, c10);
            c11 = a.fma(b1, c11);
            a = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = a.fma(b0, c20);
            c21 = a.fma(b1, c21);
            a = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = a.fma(b0, c30);
            c31 = a.fma(b1, c31);
            a = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = a.fma(b0, c40);
            c41 = a.fma(b1, c41);
            a = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = a.fma(b0, c50);
            c51 = a.fma(b1, c51);
        }
        if (bias != null) {
            FloatVector bias0 = FloatVector.fromArray(S, bias, bIdx);
            FloatVector bias1 = FloatVector.fromArray(S, bias, bIdx + L);
            c00 = c00.add(bias0);
            c01 = c01.add(bias1);
            c10 = c10.add(bias0);
            c11 = c11.add(bias1);
            c20 = c20.add(bias0);
            c21 = c21.add(bias1);
            c30 = c30.add(bias0);
            c31 = c31.add(bias1);
            c40 = c40.add(bias0);
            c41 = c41.add(bias1);
            c50 = c50.add(bias0);
            c51 = c51.add(bias1);
        }
        int o0 = cOff;
        if (loadC) {
            c00 = c00.add(FloatVector.fromArray(S, out, o0));
            c01 = c01.add(FloatVector.fromArray(S, out, o0 + L));
        }
        c00.intoArray(out, o0);
        c01.intoArray(out, o0 + L);
        if (rows > 1) {
            int o1 = cOff + 1 * ldo;
            if (loadC) {
                c10 = c10.add(FloatVector.fromArray(S, out, o1));
                c11 = c11.add(FloatVector.fromArray(S, out, o1 + L));
            }
            c10.intoArray(out, o1);
            c11.intoArray(out, o1 + L);
        }
        if (rows > 2) {
            int o2 = cOff + 2 * ldo;
            if (loadC) {
                c20 = c20.add(FloatVector.fromArray(S, out, o2));
                c21 = c21.add(FloatVector.fromArray(S, out, o2 + L));
            }
            c20.intoArray(out, o2);
            c21.intoArray(out, o2 + L);
        }
        if (rows > 3) {
            int o3 = cOff + 3 * ldo;
            if (loadC) {
                c30 = c30.add(FloatVector.fromArray(S, out, o3));
                c31 = c31.add(FloatVector.fromArray(S, out, o3 + L));
            }
            c30.intoArray(out, o3);
            c31.intoArray(out, o3 + L);
        }
        if (rows > 4) {
            int o4 = cOff + 4 * ldo;
            if (loadC) {
                c40 = c40.add(FloatVector.fromArray(S, out, o4));
                c41 = c41.add(FloatVector.fromArray(S, out, o4 + L));
            }
            c40.intoArray(out, o4);
            c41.intoArray(out, o4 + L);
        }
        if (rows > 5) {
            int o5 = cOff + 5 * ldo;
            if (loadC) {
                c50 = c50.add(FloatVector.fromArray(S, out, o5));
                c51 = c51.add(FloatVector.fromArray(S, out, o5 + L));
            }
            c50.intoArray(out, o5);
            c51.intoArray(out, o5 + L);
        }
    }
}
