package dev.mamba.kernels.cpu.gemm;

import dev.mamba.kernels.cpu.CpuParallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * fp32 GEMM on the Vector API. W is packed once into panels of {@code NR = 2·L} output columns (L = lanes
 * of the preferred species); each task packs its rows of x, one K block at a time, into strips of MR = 5
 * rows; a 5 × 2L register tile (10 accumulators) runs one strip, held in L1, across a slab of panels held
 * in L2, and goes through a small scratch tile into the output. Tasks (row chunk × column chunk) go to the
 * worker pool.
 */
public final class VectorGemm implements Gemm {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    /**
     * Rows per register tile. Five, not the six that AVX2's 16 registers could hold: C2's scheduler
     * issues up to three broadcasts ahead of their FMAs, and with 12 accumulators that spills one to the
     * stack on every step (measured 40 instead of 80 GFLOP/s per core).
     */
    static final int MR = 5;
    /** Output columns per register tile and per packed panel; also the row stride of packed x strips. */
    static final int NR = 2 * L;
    // Cache blocking (Zen 3: 32 KiB L1d, 512 KiB L2 per core). One strip of x (KC × NR floats, 16 KiB)
    // stays in L1 while it sweeps a slab of weight panels (KC × NB, ≤ 256 KiB) held in L2, writing the
    // outputs of its rows left to right; a slab pass touches at most MC × NB outputs (≤ 128 KiB). Sizes
    // measured on the Mamba-130m shapes (2 threads): a 256 KiB slab beat 160 KiB by a few percent; letting
    // the outputs a pass touches overflow L2 (MC = 192, 192 KiB slab) cost about 1.5× for K = 1536;
    // KC of 192 or 256 beat 384 and 512 by 10 to 30 %.
    /** Largest K block. */
    static final int KC_MAX = 256;
    /** Largest row chunk of one task (a multiple of MR). */
    static final int MC_MAX = 100;
    /** Largest slab of packed weights, in floats (256 KiB). */
    static final int SLAB_FLOATS = 64 * 1024;
    /** Largest block of outputs one slab pass touches, in floats (128 KiB). */
    static final int OUT_FLOATS = 32 * 1024;
    /** Smallest row chunk worth a task of its own when splitting rows for more threads. */
    static final int MC_MIN = 50;
    /** Largest column chunk of one task, so that very wide products (vocabulary heads) split for balance. */
    static final int NC_MAX = 4096;

    /** Per-thread buffer: packed strips of x (MC_MAX / MR × NR × KC_MAX floats at most) and one tile. */
    private static final ThreadLocal<float[]> STRIPS = ThreadLocal.withInitial(() -> new float[0]);

    /** Public no-arg constructor for {@link Gemms}' lookup by name; refuses species too narrow to pay. */
    public VectorGemm() {
        if (L < 4) {
            throw new UnsupportedOperationException("preferred float vector has " + L + " lanes, need at least 4");
        }
    }

    /** W [N, K] as ⌈N / NR⌉ zero-padded panels of K × NR floats, {@code w[n0 + j, k]} at {@code k·NR + j}. */
    record Packed(float[] panels, int n, int k) implements PackedWeights {
    }

    @Override
    public String name() {
        return "vector-" + S.vectorBitSize();
    }

    @Override
    public PackedWeights pack(float[] w, int wOff, int ldw, int n, int k) {
        if (n < 0 || k < 0 || (n > 0 && ldw < k)) {
            throw new IllegalArgumentException("pack: weight [" + n + ", " + k + "] needs a row stride ≥ " + k
                    + ", got " + ldw);
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
        // Row chunks as large as the cache budget allows, but with threads to feed at least 8 per thread when
        // M allows (so the last round leaves no thread idle for long); when rows alone give too few tasks,
        // split the columns as well (that costs no weight reuse, only packing the same few rows of x again).
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
        int need = strips * NR * Math.min(kc, k) + MR * NR; // strips, then one tile for the narrow panel
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
            // (kl × NR) stays in L1 across the slab, and each output row is written left to right. (Sweeping
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

    /** Strip s of the packed x against the panel at column c0, through the scratch tile into out. */
    private static void tile(float[] ap, int s, int kl, Packed p, int k0, int k, int c0, int n1, int m0, int m1,
                             float[] out, int outOff, int ldo, boolean loadC, float[] b, int biasOff, int tileOff) {
        int r0 = m0 + s * MR;
        kernel(ap, s * NR * kl, p.panels, (c0 / NR) * NR * k + k0 * NR, kl, ap, tileOff);
        merge(ap, tileOff, out, outOff + r0 * ldo + c0, ldo, Math.min(MR, m1 - r0), Math.min(NR, n1 - c0), loadC,
                b, biasOff + c0);
    }

    /**
     * out[r, j] = (loadC ? out[r, j] : 0) + tile[r, j] (+ bias[j]) for the first rows × cols of the tile;
     * vectors for full-width tiles, scalars for the narrow last panel (zero-padded in the packing).
     */
    private static void merge(float[] tile, int tOff, float[] out, int o, int ldo, int rows, int cols, boolean loadC,
                              float[] bias, int bIdx) {
        if (cols == NR) {
            for (int r = 0; r < rows; r++) {
                int oi = o + r * ldo, ti = tOff + r * NR;
                FloatVector v0 = FloatVector.fromArray(S, tile, ti);
                FloatVector v1 = FloatVector.fromArray(S, tile, ti + L);
                if (bias != null) {
                    v0 = v0.add(FloatVector.fromArray(S, bias, bIdx));
                    v1 = v1.add(FloatVector.fromArray(S, bias, bIdx + L));
                }
                if (loadC) {
                    v0 = v0.add(FloatVector.fromArray(S, out, oi));
                    v1 = v1.add(FloatVector.fromArray(S, out, oi + L));
                }
                v0.intoArray(out, oi);
                v1.intoArray(out, oi + L);
            }
            return;
        }
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) {
                float v = tile[tOff + r * NR + j];
                if (bias != null) {
                    v += bias[bIdx + j];
                }
                int oi = o + r * ldo + j;
                out[oi] = loadC ? out[oi] + v : v;
            }
        }
    }

    /**
     * x[m0..m1, k0..k0+kl] into strips of MR rows, each [kl][NR] with the first MR of every NR used
     * ({@code x[r0 + i, k0 + kk]} at {@code s·NR·kl + kk·NR + i}); rows past m1 are zero. The stride NR
     * matches the weight panels', so one loop counter indexes both in the kernel.
     */
    private static void packStrips(float[] x, int xOff, int ldx, int m0, int m1, int k0, int kl, float[] ap) {
        for (int r0 = m0, s = 0; r0 < m1; r0 += MR, s++) {
            int base = s * NR * kl;
            int rows = Math.min(MR, m1 - r0);
            for (int i = 0; i < MR; i++) {
                if (i < rows) {
                    int src = xOff + (r0 + i) * ldx + k0;
                    for (int kk = 0; kk < kl; kk++) {
                        ap[base + kk * NR + i] = x[src + kk];
                    }
                } else {
                    for (int kk = 0; kk < kl; kk++) {
                        ap[base + kk * NR + i] = 0f;
                    }
                }
            }
        }
    }

    /**
     * One MR × NR tile over kl steps of K, x packed at ap[aOff..] ([kl][NR], first MR used), weights at
     * bp[bOff..] ([kl][NR]), into tile[tOff..] ([MR][NR]).
     */
    private static void kernel(float[] ap, int aOff, float[] bp, int bOff, int kl, float[] tile, int tOff) {
        // A counted loop whose indices are all linear in its counter, so C2 hoists every bounds check out
        // of it (a check left between the FMAs split the body and made the register allocator shuffle
        // and spill accumulators at the loop head in about half of the JVM runs); and a counter step of
        // NR = 16 floats, which C2's unrolling policy does not unroll (for AVX2: unrolling lets the
        // scheduler hoist the loads of several steps ahead of the FMAs, again spilling). Nothing else
        // lives here: bias, accumulate and output strides are the merge's business.
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector a;
        final int aDelta = aOff - bOff;
        final int bEnd = bOff + kl * NR;
        for (int bi = bOff; bi < bEnd; bi += NR) {
            int ai = bi + aDelta;
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
        }
        c00.intoArray(tile, tOff + 0 * L);
        c01.intoArray(tile, tOff + 1 * L);
        c10.intoArray(tile, tOff + 2 * L);
        c11.intoArray(tile, tOff + 3 * L);
        c20.intoArray(tile, tOff + 4 * L);
        c21.intoArray(tile, tOff + 5 * L);
        c30.intoArray(tile, tOff + 6 * L);
        c31.intoArray(tile, tOff + 7 * L);
        c40.intoArray(tile, tOff + 8 * L);
        c41.intoArray(tile, tOff + 9 * L);
    }
}
