package dev.mamba.kernels.cuda;

import dev.mamba.kernels.DType;
import dev.mamba.kernels.Precision;
import dev.mamba.kernels.RelativeError;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.JCudaDriver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Chooses and launches the GEMM kernel of {@code linear}. Candidates by weight type and precision: fp32
 * FFMA (FP32 mode), tf32 or bf16 tensor cores with mma.sync (any sm_80+), and on sm_90a the wgmma kernels
 * that passed {@link WgmmaCheck} (the bf16 ones also with a TMA producer, where {@link TensorMaps} can encode
 * maps). Among several candidates the first call of each shape class (N, K,
 * types, M rounded up to a power of two, at most 2^15) times them on the real operands into a scratch
 * output, checks their results against the mma.sync kernel, and keeps the fastest, or on a near tie
 * ({@link #TIE}) the earlier candidate (one log line per shape). {@code -Dmamba.cuda.gemm=LABEL} forces a
 * kernel where it applies; {@code -Dmamba.cuda.gemmTune=false} takes the static default instead of timing.
 * Parameter struct: gemm_common.cuh {@code gemm::P}.
 */
final class CudaGemm {
    private static final Logger LOG = LoggerFactory.getLogger(CudaGemm.class);

    /** Pipeline depth of the big (128x256) and small (128x128) mma.sync kernels (gemm.cu MMA_KERNEL). */
    static final int BIG_STAGES = 4, SMALL_STAGES = 3;
    /**
     * A later candidate must be this much faster to displace an earlier one: the timings on TUNE_ROWS rows rank
     * kernels within ~2 % of each other in either order from run to run, and in the forward at 64 x 2048 the
     * earlier-listed bulk-epilogue kernel was the faster of such pairs (out_proj +=: 0.585 ms for ws256e2 against
     * 0.630 for ws192e3, which had won the tuning 0.166 to 0.167 ms; H200 runs 73-74).
     */
    static final double TIE = 0.02;
    /** Rows of the tuning problem at most (the scratch output is TUNE_ROWS x N). */
    static final int TUNE_ROWS = 32768;
    /** Timed launches per tuning candidate (the median counts). */
    static final int TUNE_REPS = 5;

    /** Dynamic shared memory of the mma.sync kernels: stages x (BM + BN) rows of 128 bytes. */
    static int mmaSmem(int stages, int bm, int bn) {
        return stages * (bm + bn) * 128;
    }

    /**
     * Dynamic shared memory of the warp-specialised wgmma kernels with the bulk-copy epilogue in {@code epi} rounds
     * (0: the staged one), as wsg::Cfg computes it: stages of (128 + bn) rows of 128 bytes, the mbarriers, 8 consumer
     * warps' output buffers, and 1024 bytes of slack to align the base where that still fits.
     */
    static int wsSmem(int bn, int epi) {
        int stages = bn >= 256 ? 4 : bn >= 192 ? 5 : 6;
        int bars = epi > 0 ? (16 * stages + 63) / 64 * 64 : 128;
        int epiWarp = epi > 0 ? 16 * (bn / epi * 2 + 16) : 16 * 160;
        int core = stages * (128 + bn) * 128 + bars + 8 * epiWarp;
        return core + (core + 1024 <= 227 * 1024 ? 1024 : 0);
    }

    /** One GEMM kernel: label, function, module, input type, tile, threads, shared memory, persistence. */
    enum Kernel {
        SGEMM("sgemm", "mamba_sgemm", false, DType.F32, 128, 128, 256, 0, false),
        MMA_TF32_BIG("mma_big", "mamba_mma_tf32_big", false, DType.F32, 128, 256, 256, mmaSmem(BIG_STAGES, 128, 256), false),
        MMA_TF32_SMALL("mma_small", "mamba_mma_tf32_small", false, DType.F32, 128, 128, 128, mmaSmem(SMALL_STAGES, 128, 128), false),
        MMA_BF16_BIG("mma_big", "mamba_mma_bf16_big", false, DType.BF16, 128, 256, 256, mmaSmem(BIG_STAGES, 128, 256), false),
        MMA_BF16_SMALL("mma_small", "mamba_mma_bf16_small", false, DType.BF16, 128, 128, 128, mmaSmem(SMALL_STAGES, 128, 128), false),
        WGMMA_BF16("wgmma", "mamba_wgmma_bf16", true, DType.BF16, 128, 256, 256, mmaSmem(4, 128, 256) + 1024, false),
        WS_BF16_256("wgmma_ws256", "mamba_wgmma_ws_bf16_n256", true, DType.BF16, 128, 256, 384, wsSmem(256, 0), true),
        WS_BF16_128("wgmma_ws128", "mamba_wgmma_ws_bf16_n128", true, DType.BF16, 128, 128, 384, wsSmem(128, 0), true),
        WS_BF16_256_E2("wgmma_ws256e2", "mamba_wgmma_ws_bf16_n256e2", true, DType.BF16, 128, 256, 384, wsSmem(256, 2), true),
        WS_BF16_192("wgmma_ws192", "mamba_wgmma_ws_bf16_n192", true, DType.BF16, 128, 192, 384, wsSmem(192, 0), true),
        WS_BF16_192_E3("wgmma_ws192e3", "mamba_wgmma_ws_bf16_n192e3", true, DType.BF16, 128, 192, 384, wsSmem(192, 3), true),
        WS_TF32_256("wgmma_ws256", "mamba_wgmma_ws_tf32_n256", true, DType.F32, 128, 256, 384, wsSmem(256, 0), true),
        WS_TF32_128("wgmma_ws128", "mamba_wgmma_ws_tf32_n128", true, DType.F32, 128, 128, 384, wsSmem(128, 0), true),
        // the same kernels with a TMA producer (wgmma.cu TMA_KERNEL; tensor maps from TensorMaps)
        TMA_BF16_256_E2("wgmma_tma256e2", "mamba_wgmma_tma_bf16_n256e2", DType.BF16, 256, wsSmem(256, 2)),
        TMA_BF16_256("wgmma_tma256", "mamba_wgmma_tma_bf16_n256", DType.BF16, 256, wsSmem(256, 0)),
        TMA_BF16_128("wgmma_tma128", "mamba_wgmma_tma_bf16_n128", DType.BF16, 128, wsSmem(128, 0)),
        TMA_BF16_192_E3("wgmma_tma192e3", "mamba_wgmma_tma_bf16_n192e3", DType.BF16, 192, wsSmem(192, 3));

        final String label, function;
        final boolean hopper, persistent;
        /** Loads through the TMA unit: takes tensor maps of x and w after gemm::P ({@link #launchParams}). */
        final boolean tma;
        final DType input;
        final int bm, bn, threads, smem;

        Kernel(String label, String function, DType input, int bn, int smem) {
            this(label, function, true, input, 128, bn, 384, smem, true, true);
        }

        Kernel(String label, String function, boolean hopper, DType input, int bm, int bn, int threads, int smem,
               boolean persistent) {
            this(label, function, hopper, input, bm, bn, threads, smem, persistent, false);
        }

        Kernel(String label, String function, boolean hopper, DType input, int bm, int bn, int threads, int smem,
               boolean persistent, boolean tma) {
            this.tma = tma;
            this.label = label;
            this.function = function;
            this.hopper = hopper;
            this.input = input;
            this.bm = bm;
            this.bn = bn;
            this.threads = threads;
            this.smem = smem;
            this.persistent = persistent;
        }

        /** Label with the input type, as logs and the profile show it. */
        String fullName() {
            return (this == SGEMM ? "fp32 " : input == DType.BF16 ? "bf16 " : "tf32 ") + label;
        }
    }

    /**
     * The wgmma kernels of a weight type in tuning order: on a near tie ({@link #TIE}) the earlier one stays. The
     * static default (no tuning) is wgmma_ws256 / wgmma_ws128.
     */
    static List<Kernel> hopperKernels(DType weight) {
        if (weight != DType.BF16) {
            return List.of(Kernel.WS_TF32_256, Kernel.WS_TF32_128);
        }
        List<Kernel> k = new ArrayList<>(List.of(Kernel.WS_BF16_256_E2, Kernel.WS_BF16_256, Kernel.WS_BF16_128,
                Kernel.WGMMA_BF16, Kernel.WS_BF16_192, Kernel.WS_BF16_192_E3));
        if (TensorMaps.unavailableReason() == null) {
            k.addAll(List.of(Kernel.TMA_BF16_256_E2, Kernel.TMA_BF16_256, Kernel.TMA_BF16_128, Kernel.TMA_BF16_192_E3));
        }
        return List.copyOf(k);
    }

    /** Whether the TMA kernels can read these operands: 16-byte aligned rows (the tensor maps' rule). */
    static boolean tmaReadable(CudaTensor x, CudaTensor w) {
        return x.aligned16() && w.aligned16();
    }

    /** wsg::PT (wgmma.cu) in longs: gemm::P, padding to byte 192, x's tensor map, w's (16 longs each). */
    private static final int PT_MAP_X = 24, PT_MAP_W = 40, PT_LONGS = 56;

    /**
     * The parameters of a launch of {@code k} from its gemm::P ({@link #params}): P itself, or for the TMA kernels
     * wsg::PT, adding the tensor maps of x [M, K] (boxes of 128 rows) and w [N, K] (boxes of the tile's width) that
     * P describes.
     */
    static long[] launchParams(Kernel k, long[] p) {
        if (!k.tma) {
            return p;
        }
        final long x = p[0], w = p[1], ldx = p[4], ldw = p[5], m = p[7], n = p[8], kk = p[9];  // gemm::P's fields
        long[] all = new long[PT_LONGS];
        System.arraycopy(p, 0, all, 0, p.length);
        System.arraycopy(TensorMaps.bf16Tiled("gemm x", x, m, kk, ldx, k.bm), 0, all, PT_MAP_X, 16);
        System.arraycopy(TensorMaps.bf16Tiled("gemm w", w, n, kk, ldw, k.bn), 0, all, PT_MAP_W, 16);
        return all;
    }

    /**
     * The portable kernels for this precision and weight type: fp32 FFMA alone in FP32 mode with fp32
     * weights, else the big and small mma.sync kernels of the weight's type (bf16, or tf32 for fp32).
     */
    static List<Kernel> mmaKernels(Precision precision, DType weight) {
        if (weight == DType.BF16) {
            return List.of(Kernel.MMA_BF16_BIG, Kernel.MMA_BF16_SMALL);
        }
        return precision == Precision.FP32 ? List.of(Kernel.SGEMM) : List.of(Kernel.MMA_TF32_BIG, Kernel.MMA_TF32_SMALL);
    }

    /** Small (128x128) mma.sync tiles for narrow outputs, or when big tiles would leave SMs idle. */
    static boolean smallTiles(int m, int n, int sms) {
        long mt = (m + 127) / 128;
        long bigTiles = mt * ((n + 255) / 256);
        long smallTiles = mt * ((n + 127) / 128);
        return n <= 128 || (bigTiles < sms && smallTiles > bigTiles);
    }

    /** The M class of a tuning decision: ceil(log2 M), at most log2(TUNE_ROWS). */
    static int mClass(int m) {
        int c = 32 - Integer.numberOfLeadingZeros(Math.max(1, m) - 1);
        return Math.min(c, 31 - Integer.numberOfLeadingZeros(TUNE_ROWS));
    }

    /** Grid of a launch: persistent kernels get one CTA per SM (at most one per tile). */
    static long[] grid(Kernel k, long m, long n, int sms) {
        long mt = (m + k.bm - 1) / k.bm, nt = (n + k.bn - 1) / k.bn;
        if (k.persistent) {
            return new long[] {Math.max(1, Math.min(mt * nt, sms)), 1};
        }
        return new long[] {nt, mt};
    }

    /** Epilogue activations after the bias (gemm_common.cuh P.act). */
    static final int ACT_NONE = 0, ACT_SOFTPLUS = 1;

    /** The gemm::P struct (field order of gemm_common.cuh). */
    static long[] params(long x, long w, long bias, long out, long ldx, long ldw, long ldout, long m, long n, long k,
                         boolean accumulate, boolean vecX, boolean vecW, boolean vecOut, boolean outBf16,
                         boolean wTf32, boolean xTf32, int act) {
        return new long[] {x, w, bias, out, ldx, ldw, ldout, m, n, k, accumulate ? 1 : 0, vecX ? 1 : 0, vecW ? 1 : 0,
                vecOut ? 1 : 0, outBf16 ? 1 : 0, wTf32 ? 1 : 0, xTf32 ? 1 : 0, act};
    }

    /**
     * A tuning class: accumulating calls (out_proj adding into the residual) and those with an epilogue activation
     * (dt_proj writing δ) are tuned apart, as they run.
     */
    private record Key(DType weight, DType out, int n, int k, int mClass, boolean accumulate, int act, boolean tma) {
    }

    private final CudaBackend be;
    /** wgmma kernels that passed the self-check (empty off Hopper or outside TF32/BF16 mode). */
    private final Set<Kernel> verified;
    private final boolean tune;
    private final String forced;
    private final Map<Key, Kernel> tuned = new HashMap<>();
    private final Map<Key, String> tuneLines = new LinkedHashMap<>();
    private Kernel last;

    CudaGemm(CudaBackend be, Set<Kernel> verified) {
        this.be = be;
        this.verified = verified.isEmpty() ? EnumSet.noneOf(Kernel.class) : EnumSet.copyOf(verified);
        this.tune = !"false".equals(System.getProperty("mamba.cuda.gemmTune"));
        this.forced = System.getProperty("mamba.cuda.gemm");
    }

    /** Whether a kernel that adds f32 outputs through bulk copies passed the check (wgmma.cu store_slab_bulk). */
    boolean bulkAdds() {
        return verified.contains(Kernel.WS_BF16_256_E2) || verified.contains(Kernel.WS_BF16_192_E3);
    }

    /** The kernel of the last linear call (null before the first). */
    Kernel last() {
        return last;
    }

    /** Tuning decisions so far, one line per shape class. */
    List<String> tuneLines() {
        return new ArrayList<>(tuneLines.values());
    }

    /**
     * Candidates for this weight type in this backend's precision, the mma.sync reference first; the TMA kernels only
     * where {@code tma} (the operands are {@link #tmaReadable}).
     */
    List<Kernel> candidates(DType weight, int m, int n, boolean tma) {
        List<Kernel> mma = mmaKernels(be.precision(), weight);
        if (mma.size() == 1) {
            return mma;
        }
        List<Kernel> c = new ArrayList<>();
        boolean small = smallTiles(m, n, be.smCount());
        c.add(mma.get(small ? 1 : 0));
        c.add(mma.get(small ? 0 : 1));
        for (Kernel k : hopperKernels(weight)) {
            if (verified.contains(k) && (tma || !k.tma)) {
                c.add(k);
            }
        }
        return c;
    }

    /** out = (accumulate ? out : 0) + x·wᵀ + bias, then act ({@link #ACT_SOFTPLUS}: dt_proj writing δ). */
    void run(CudaTensor x, CudaTensor w, CudaTensor bias, CudaTensor out, boolean accumulate, int act) {
        if (x.rows == 0 || w.rows == 0) {
            return;
        }
        DType inType = w.dtype == DType.BF16 ? DType.BF16 : DType.F32;
        if (x.dtype != inType) {
            x = be.converted(x, inType);
        }
        Kernel k = choose(x, w, bias, out, accumulate, act);
        last = k;
        launch(k, x, w, bias, out, accumulate, act);
    }

    private Kernel choose(CudaTensor x, CudaTensor w, CudaTensor bias, CudaTensor out, boolean accumulate, int act) {
        final boolean tma = tmaReadable(x, w);
        List<Kernel> c = candidates(w.dtype, x.rows, w.rows, tma);
        if (forced != null) {
            for (Kernel k : c) {
                if (k.label.equals(forced)) {
                    return k;
                }
            }
        }
        if (c.size() == 1 || x.cols == 0) {
            return c.get(0);
        }
        if (!tune) {
            // the cooperative wgmma kernels with the staged epilogue: right for every output type
            for (Kernel k : c) {
                if (k.hopper && k.persistent && k.label.equals(w.rows <= 128 ? "wgmma_ws128" : "wgmma_ws256")) {
                    return k;
                }
            }
            return c.get(0);
        }
        Key key = new Key(w.dtype, out.dtype, w.rows, x.cols, mClass(x.rows), accumulate, act, tma);
        Kernel k = tuned.get(key);
        if (k == null) {
            k = tune(key, c, x, w, bias, out.dtype);
            tuned.put(key, k);
        }
        return k;
    }

    /**
     * Times every candidate on the first min(M, TUNE_ROWS) rows of the real operands into a scratch
     * output and keeps the fastest whose rows agree with the reference (the first candidate). Accumulating
     * classes run accumulating (their epilogues differ): each candidate's checked launch adds into a zeroed
     * scratch, its timed ones into whatever is there.
     */
    private Kernel tune(Key key, List<Kernel> cands, CudaTensor x, CudaTensor w, CudaTensor bias, DType outType) {
        final int m = Math.min(x.rows, TUNE_ROWS), n = w.rows;
        CudaTensor xs = m == x.rows ? x : (CudaTensor) x.rows(0, m);
        DeviceMemory.Allocation ws = be.workspace(CudaBackend.wsTune(), (long) m * n * outType.bytes());
        CudaTensor o = new CudaTensor("gemm-tune.out", outType, ws, m, n);
        int sample = Math.min(64, m);
        double tol = outType == DType.BF16 ? 2e-2 : 1e-3;
        float[] ref = null;
        Kernel best = cands.get(0);
        double bestMs = Double.MAX_VALUE;
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "cuda: gemm %s N=%d K=%d M=%d%s (tuned on %d rows):",
                cands.get(0).fullName().split(" ")[0], n, x.cols, x.rows,
                (key.accumulate ? " +=" : "") + (key.act == ACT_SOFTPLUS ? " softplus" : ""), m));
        CUevent start = new CUevent(), stop = new CUevent();
        CudaDriver.check(JCudaDriver.cuEventCreate(start, CUevent_flags.CU_EVENT_DEFAULT), "cuEventCreate");
        CudaDriver.check(JCudaDriver.cuEventCreate(stop, CUevent_flags.CU_EVENT_DEFAULT), "cuEventCreate");
        try {
            for (Kernel k : cands) {
                if (key.accumulate) {
                    be.fill(o, 0f);
                }
                launch(k, xs, w, bias, o, key.accumulate, key.act);
                float[] got = sampleRows(o, sample);
                double err = ref == null ? 0 : RelativeError.of(got, ref);
                if (ref == null) {
                    ref = got;
                }
                // Each timed launch follows an untimed one, so the device is busy while it is issued and its time is
                // the kernel's alone; the median of TUNE_REPS. (Until run 91 three launches were timed back to back
                // right after the check's copy to the host: the TMA kernels then measured 0.01-0.04 ms slower than
                // their cp.async twins per launch, though CudaKernelBench timed them 3-9 % faster.)
                float[] times = new float[TUNE_REPS];
                float[] v = new float[1];
                for (int i = 0; i < TUNE_REPS; i++) {
                    launch(k, xs, w, bias, o, key.accumulate, key.act);
                    CudaDriver.check(JCudaDriver.cuEventRecord(start, be.stream()), "cuEventRecord");
                    launch(k, xs, w, bias, o, key.accumulate, key.act);
                    CudaDriver.check(JCudaDriver.cuEventRecord(stop, be.stream()), "cuEventRecord");
                    CudaDriver.check(JCudaDriver.cuEventSynchronize(stop), "cuEventSynchronize(gemm tuning)");
                    CudaDriver.check(JCudaDriver.cuEventElapsedTime(v, start, stop), "cuEventElapsedTime");
                    times[i] = v[0];
                }
                java.util.Arrays.sort(times);
                double ms = times[TUNE_REPS / 2];
                boolean ok = err <= tol && Double.isFinite(err);
                line.append(String.format(Locale.ROOT, " %s %.3f ms%s", k.label, ms,
                        ok ? "" : String.format(Locale.ROOT, " (REJECTED: rel. diff %.2g vs %s)", err, cands.get(0).label)));
                if (!ok) {
                    LOG.warn("cuda: gemm kernel {} disagrees with {} on N={} K={} (relative difference {}); not used",
                            k.fullName(), cands.get(0).fullName(), n, x.cols, err);
                } else if (ms < bestMs * (1 - TIE)) {
                    bestMs = ms;
                    best = k;
                }
            }
        } finally {
            JCudaDriver.cuEventDestroy(start);
            JCudaDriver.cuEventDestroy(stop);
        }
        line.append(" -> ").append(best.label);
        LOG.info(line.toString());
        tuneLines.put(key, line.toString());
        return best;
    }

    /** The first and last {@code rows} rows of a scratch output, as floats. */
    private float[] sampleRows(CudaTensor o, int rows) {
        float[] a = new float[2 * rows * o.cols];
        be.read(o.rows(0, rows), a, 0);
        be.read(o.rows(o.rows - rows, o.rows), a, rows * o.cols);
        return a;
    }

    /** Launches one GEMM kernel; very tall inputs of tiled kernels go in row slices (grid.y ≤ 65535). */
    void launch(Kernel k, CudaTensor x, CudaTensor w, CudaTensor bias, CudaTensor out, boolean accumulate, int act) {
        final int m = x.rows, n = w.rows, kk = x.cols;
        CudaModule module = k.hopper ? be.wgmmaModule() : be.module();
        final boolean vecW = w.aligned16();
        final boolean outBf16 = out.dtype == DType.BF16;
        final long biasAddr = bias == null ? 0 : bias.address();
        final int rowsPerLaunch = k.persistent ? m : 65535 * k.bm;
        for (int r0 = 0; r0 < m; r0 += rowsPerLaunch) {
            int r1 = Math.min(m, r0 + rowsPerLaunch);
            CudaTensor xs = r0 == 0 && r1 == m ? x : (CudaTensor) x.rows(r0, r1);
            CudaTensor os = r0 == 0 && r1 == m ? out : (CudaTensor) out.rows(r0, r1);
            boolean vecOut = os.address() % (2L * os.dtype.bytes()) == 0 && os.ld % 2 == 0;
            long[] g = grid(k, r1 - r0, n, be.smCount());
            module.launch(k.function, g[0], g[1], 1, k.threads, k.smem, launchParams(k, params(xs.address(), w.address(),
                    biasAddr, os.address(), xs.ld, w.ld, os.ld, r1 - r0, n, kk, accumulate, xs.aligned16(), vecW, vecOut,
                    outBf16, w.alloc.tf32Rounded, xs.alloc.tf32Rounded, act)));
        }
    }
}
