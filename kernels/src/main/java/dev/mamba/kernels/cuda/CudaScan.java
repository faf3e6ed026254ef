package dev.mamba.kernels.cuda;

import dev.mamba.kernels.DType;
import dev.mamba.kernels.Tensor;

/**
 * Validates a selective-scan call, picks the kernel variant (states per thread, time segments) and
 * launches it. Field order of the parameter struct: scan.cuh {@code scan::P}.
 */
final class CudaScan {
    private CudaScan() {
    }

    static final int TT = 32, DT = 32;
    /** Warp-specialised main pass (scan.cuh scan_ws_kernel): steps per tile, helper threads, raw tile slots. */
    static final int WS_TT = 16, WS_HELP = 128, WS_SLOTS = 4;
    /** Largest dt rank of the kernels with dt_proj fused in (scan.cuh RMAX). */
    static final int RMAX = 64;
    /** Shared-memory row pitch (bf16) of the fused kernels' dtIn and dt_proj tiles (scan.cuh RPITCH). */
    static final int RPITCH = 72;
    /** Channel-per-thread main pass (scan_chan.cuh): warps per block, steps per tile. */
    static final int CH_WARPS = 4, CH_T = 8;
    /**
     * The plan takes the channel-per-thread pass from this many of its warps per SM on (lanes x D / 32 of them).
     * H200 probe (run 51, bf16, D = 1536, 2048 steps): 0.612 vs 0.671 ms for the warp-specialised pass at 32
     * lanes (11.6 warps per SM), 1.140 vs 1.307 at 64, but 0.420 vs 0.350 at 16 lanes (5.8 per SM).
     */
    static final int CHAN_WARPS_PER_SM = 10;

    /** Its dt_proj fused in (bf16): largest dt rank, row pitch of dtIn and W_dt (bf16); dt scratch pitch: DPITCH. */
    static final int CH_RK = 48, CH_RP = 56;

    /**
     * Dynamic shared memory of the channel-per-thread pass (fdt: dt_proj fused in); scan_chan.cuh
     * {@code ch_smem_bytes} computes the same for the instances of scan.cu (SCAN_CHAN).
     */
    static int chanSmem(int elemBytes, boolean fdt) {
        int slots = fdt || elemBytes == 4 ? 2 : 3;
        int slot = CH_T * (3 * 32 + 2 * 16 + (fdt ? CH_RP - 32 : 0)) * elemBytes;
        return CH_WARPS * (slots * slot + (elemBytes == 2 ? CH_T * 32 * 4 : 0) + (fdt ? 32 * CH_RP * 2 + CH_T * DPITCH * 4 : 0));
    }

    /**
     * Whether the operands allow the channel-per-thread pass: it copies with cp.async only (vec: u, dt, z, B and C
     * 16-byte aligned, as the other passes' fast copies need), keeps 32-bit element offsets, and with dt_proj
     * fused in takes bf16 ranks that are multiples of 8 up to {@link #CH_RK} from an aligned weight.
     */
    static boolean chanOperands(boolean vec, CudaTensor u, CudaTensor dt, CudaTensor dtW, CudaTensor b, CudaTensor c,
                                CudaTensor z, CudaTensor y) {
        long ldMax = Math.max(Math.max(Math.max(u.ld, dt.ld), Math.max(z == null ? 0 : z.ld, y.ld)), Math.max(b.ld, c.ld));
        return vec && (long) u.rows * ldMax + u.cols < (1L << 31)
                && (dtW == null || (dtW.cols % 8 == 0 && dtW.cols <= CH_RK && dtW.aligned16() && fusable(u.dtype, dtW)));
    }

    /** Steps the plan expects a fix-up to run before the carried state has decayed (a cost estimate only). */
    static final int FIX_STEPS = 1024;

    /** Dynamic shared memory of a scan kernel; scan.cuh {@code smem_bytes} computes the same. */
    static int smem(int elemBytes, int n, int npt, boolean fdt) {
        return 2 * (3 * TT * DT + 2 * TT * n + (fdt ? TT * (RPITCH - DT) : 0)) * elemBytes
                + (2 * TT * DT + 2 * TT * n + TT * DT * (n / npt)) * 4 + (fdt ? DT * RPITCH * 2 : 0);
    }

    /** Raw-dt scratch pitch (f32) of the fused kernels (scan.cuh DPITCH). */
    static final int DPITCH = 40;

    /**
     * Dynamic shared memory of a warp-specialised main pass; scan.cuh {@code ws_smem_bytes} computes the same
     * (fdt: dtIn [16][RMAX] slots and a raw-dt scratch).
     */
    static int wsSmem(int elemBytes, int n, int npt, boolean fdt) {
        return WS_SLOTS * (3 * WS_TT * DT + 2 * WS_TT * n + (fdt ? WS_TT * (RMAX - DT) : 0)) * elemBytes
                + 2 * (2 * WS_TT * DT + 2 * WS_TT * n + WS_TT * DT * (n / npt)) * 4 + (fdt ? WS_TT * DPITCH * 4 : 0);
    }

    /**
     * Whether a warp-specialised main pass exists for template state count nt (scan.cu SCAN_WS and the
     * _dtp_ws instance; sm90a.cu's _ws4 ones), with dt_proj fused in (fdt) for 16 states only.
     */
    static boolean hasWs(int nt, boolean fdt) {
        return fdt ? nt == 16 : nt == 8 || nt == 16 || nt == 32;
    }

    /** Template state count for N states: 8, 16, 32 or 64. */
    static int templateN(int n) {
        if (n <= 8) {
            return 8;
        }
        if (n <= 16) {
            return 16;
        }
        if (n <= 32) {
            return 32;
        }
        if (n <= 64) {
            return 64;
        }
        throw new IllegalArgumentException("scan: state size " + n + " > 64 is not supported by the CUDA kernels");
    }

    private static void shape(Tensor x, int rows, int cols, String op) {
        if (x.rows() != rows || x.cols() != cols) {
            throw new IllegalArgumentException(op + ": " + x.name() + " has shape " + x.shape() + ", expected ["
                    + rows + ", " + cols + "]");
        }
    }

    /**
     * The launch plan: main pass (kernel, threads, shared memory, and the module holding it: the portable one
     * or the sm_90a one), fix-up of split lanes (kernel, threads, shared memory; always the portable module),
     * states per thread, segments, steps per segment.
     */
    record Plan(String main, int mainThreads, int mainSmem, CudaModule mainModule, String fix, int fixThreads,
                int fixSmem, int npt, int segments, int segLen, int channelsPerBlock) {
        /** Kernel and split, as the profile shows it. */
        String describe() {
            return main.replace("mamba_scan_", "") + (segments > 1 ? " x" + segments + " segments" : "");
        }

        /** The channel-per-thread pass (only it has a variant that reads δ instead of dt). */
        boolean chan() {
            return main.endsWith("_chan_main");
        }

        /** This channel-per-thread plan with the pass that reads δ (scan_chan.cuh DELTA). */
        Plan delta() {
            if (!chan()) {
                throw new IllegalStateException("scan: only the channel-per-thread pass reads δ, the plan is " + main);
            }
            return new Plan(main.replace("_chan_main", "_chan_delta_main"), mainThreads, mainSmem, mainModule, fix,
                    fixThreads, fixSmem, npt, segments, segLen, channelsPerBlock);
        }
    }

    /**
     * The plan {@link #run} takes for these operands (dt the raw dt [rows, D]): selectiveScanProjected asks it
     * whether the dt_proj GEMM may write δ for the channel-per-thread pass.
     */
    static Plan planFor(CudaBackend be, CudaTensor u, CudaTensor dt, CudaTensor b, CudaTensor c, CudaTensor z,
                        CudaTensor y, int lanes) {
        return planFor(be, u, dt, null, b, c, z, y, lanes, u.rows / lanes);
    }

    private static Plan planFor(CudaBackend be, CudaTensor u, CudaTensor dt, CudaTensor dtW, CudaTensor b,
                                CudaTensor c, CudaTensor z, CudaTensor y, int lanes, int steps) {
        boolean vec = vecX(u, dt, z) && vecBC(b, c);
        return plan(be, u.dtype, lanes, u.cols, b.cols, steps, dtW != null, chanOperands(vec, u, dt, dtW, b, c, z, y));
    }

    private static boolean vecX(CudaTensor u, CudaTensor dt, CudaTensor z) {
        return u.aligned16() && dt.aligned16() && (z == null || z.aligned16());
    }

    private static boolean vecBC(CudaTensor b, CudaTensor c) {
        return b.aligned16() && c.aligned16();
    }

    /**
     * Validates and launches; returns the plan used (null when there was nothing to do). dtW null: dt is
     * the raw dt [rows, D]; else (bf16 only) dt is dtIn [rows, R] and the kernel computes dt = dtIn·dtWᵀ.
     * delta: dt already holds δ = softplus(dt + bias) (the plan must be the channel-per-thread pass).
     */
    static Plan run(CudaBackend be, CudaTensor u, CudaTensor dt, CudaTensor dtW, CudaTensor dtBias, CudaTensor a,
                    CudaTensor b, CudaTensor c, CudaTensor dSkip, CudaTensor z, CudaTensor state, CudaTensor lens,
                    CudaTensor y, boolean roundY, boolean delta) {
        final int lanes = state.rows, d = u.cols, n = a.cols;
        if (lanes == 0 || u.rows % lanes != 0) {
            throw new IllegalArgumentException("scan: " + u.rows + " rows do not split into " + lanes + " lanes");
        }
        final int steps = u.rows / lanes;
        final boolean fdt = dtW != null;
        if (fdt) {
            if (!fusable(u.dtype, dtW) || dt.cols != dtW.cols) {
                throw new IllegalArgumentException("scan: dt_proj " + dtW.name + " " + dtW.shape() + " (" + dtW.dtype
                        + ") cannot be fused with " + u.dtype + " activations and dt input " + dt.name + " " + dt.shape()
                        + ": needs bf16, a rank <= " + RMAX + " and the same rank on both");
            }
            shape(dt, u.rows, dtW.cols, "scan dt input");
            shape(dtW, d, dt.cols, "scan dt_proj");
        } else {
            shape(dt, u.rows, d, "scan dt");
        }
        shape(dtBias, 1, d, "scan dt bias");
        shape(a, d, n, "scan A");
        shape(b, u.rows, n, "scan B");
        shape(c, u.rows, n, "scan C");
        shape(dSkip, 1, d, "scan D");
        shape(state, lanes, d * n, "scan state");
        shape(lens, lanes, 1, "lens");
        shape(y, u.rows, d, "scan y");
        if (z != null) {
            shape(z, u.rows, d, "scan z");
        }
        DType t = u.dtype;
        for (CudaTensor x : new CudaTensor[] {dt, b, c, z, y}) {
            if (x != null && x.dtype != t) {
                throw new IllegalArgumentException("scan: " + x.name + " is " + x.dtype + " but u " + u.name + " is "
                        + t + "; u, dt, B, C, z and y must all have the activation type");
            }
        }
        if (steps == 0 || d == 0 || n == 0) {
            return null;
        }
        long vecX = vecX(u, dt, z) ? 1 : 0;
        long vecBC = vecBC(b, c) ? 1 : 0;
        Plan plan = planFor(be, u, dt, dtW, b, c, z, y, lanes, steps);
        if (delta) {
            plan = plan.delta();
        }
        long wsH = 0, wsS = 0;
        if (plan.segments > 1) {
            long h = 4L * lanes * plan.segments * d * n;
            long s = 4L * lanes * plan.segments * d;
            DeviceMemory.Allocation ws = be.workspace(CudaBackend.wsScan(), h + s);
            wsH = ws.address;
            wsS = ws.address + h;
        }
        long[] p = {u.address(), dt.address(), dtBias.address(), a.address(), b.address(), c.address(),
                dSkip.address(), z == null ? 0 : z.address(), state.address(), lens.address(), y.address(),
                u.ld, dt.ld, a.ld, b.ld, c.ld, z == null ? 0 : z.ld, state.ld, lens.ld, y.ld,
                steps, d, n, plan.segments, plan.segLen, wsH, wsS, vecX, vecBC, roundY ? 1 : 0,
                fdt ? dtW.address() : 0, fdt ? dtW.ld : 0, fdt ? dtW.cols : 0};
        long dTiles = (d + plan.channelsPerBlock - 1) / plan.channelsPerBlock;
        plan.mainModule.launch(plan.main, dTiles, plan.segments, lanes, plan.mainThreads, plan.mainSmem, p);
        if (plan.segments > 1) {
            be.module().launch(plan.fix, dTiles, plan.segments - 1, lanes, plan.fixThreads, plan.fixSmem, p);
        }
        return plan;
    }

    /** Whether selectiveScanProjected can compute dt inside the scan kernel. */
    static boolean fusable(DType act, CudaTensor dtW) {
        return act == DType.BF16 && dtW.dtype == DType.BF16 && dtW.cols >= 1 && dtW.cols <= RMAX;
    }

    /**
     * Picks the main pass: the channel-per-thread pass where the overload below takes it (many lanes), else
     * states per thread (4, or 2 when that fills the GPU better) and the number of time segments
     * by a simple model: time ∝ waves x steps per block x cost, where splitting into S segments adds a
     * fix-up pass over S-1 segments (assumed to stop after ~1024 steps, cost 0.8 of the main pass per
     * step: it stops when the carried state has decayed, which takes a few hundred steps at Mamba's δ
     * ranges and the whole segment at worst) and 2 states per thread costs ~30% more
     * (H200: 0.850 vs 0.663 ms fp32 at (8, 1536, 4096, 16), benchmarks/results/kernel-probe-h200-run3.txt).
     * With 4 states per thread and bf16 activations the main pass is the warp-specialised kernel (8 to 32
     * states; with dt_proj fused in, 16) unless -Dmamba.cuda.scanWs=false; its fix-up pass is the p4 kernel. (With
     * fp32 activations it measured slower: 0.50 vs 0.47 ms at (8, 1536, 4096, 16), H200 runs 28-29.) With
     * 16 states on sm_90a that pass comes from the sm_90a module at 4 blocks per SM instead of 3 (sm90a.cu;
     * H200 run 33: 1.313 vs 1.385 ms at (64, 1536, 2048, 16)) unless -Dmamba.cuda.scanWs4=false.
     */
    static Plan plan(CudaBackend be, DType t, int lanes, int d, int n, int steps, boolean fdt) {
        return plan(be, t, lanes, d, n, steps, fdt, true);
    }

    /**
     * As above; chanOk: the operands allow the channel-per-thread pass ({@link #chanOperands}). That pass
     * (scan_chan.cuh: thread = channel with its 16 states, no partial sums or barriers; dt_proj fused in for
     * bf16) is taken for 16 states, D a multiple of 32, unsplit lanes and the fast exp, when its warps (lanes x
     * D / 32) number at least {@link #CHAN_WARPS_PER_SM} per SM; -Dmamba.cuda.scanChan=false never takes it,
     * =force wherever it applies (tests).
     */
    static Plan plan(CudaBackend be, DType t, int lanes, int d, int n, int steps, boolean fdt, boolean chanOk) {
        Plan best = fourStatePlan(be, t, lanes, d, n, steps, fdt);
        CudaBackend.ChanScan mode = be.chanScan();
        boolean applies = chanOk && mode != CudaBackend.ChanScan.OFF && n == 16 && d % 32 == 0
                && (!fdt || t == DType.BF16) && !(be.exactScanExp() && t == DType.F32);
        boolean wanted = mode == CudaBackend.ChanScan.FORCE
                || (best.segments == 1 && (long) lanes * (d / 32) >= (long) CHAN_WARPS_PER_SM * be.smCount());
        if (applies && wanted) {
            String tn = t == DType.BF16 ? "bf16" : "f32";
            return new Plan("mamba_scan_" + tn + "_n16_chan" + (fdt ? "_dtp" : "") + "_main", 32 * CH_WARPS,
                    chanSmem(t.bytes(), fdt), be.module(), null, 0, 0, 16, 1, steps, 32 * CH_WARPS);
        }
        return best;
    }

    /** The plan among the kernels of 4 (or 2) states per thread, time segments included (see {@link #plan}). */
    private static Plan fourStatePlan(CudaBackend be, DType t, int lanes, int d, int n, int steps, boolean fdt) {
        final int nt = templateN(n);
        final String tn = t == DType.BF16 ? "bf16" : "f32";
        final int eb = t.bytes();
        final boolean exact = be.exactScanExp() && t == DType.F32;
        final String suffix = exact ? "_exact" : "";
        final long sms = be.smCount();
        final long base = (long) lanes * ((d + DT - 1) / DT);
        double bestCost = Double.MAX_VALUE;
        Plan best = null;
        int[] npts = nt == 16 ? new int[] {4, 2} : new int[] {4};
        for (int npt : npts) {
            String stem = "mamba_scan_" + tn + "_n" + nt + "_p" + npt + (fdt ? "_dtp" : "");
            int threads = DT * (nt / npt);
            int smem = smem(eb, nt, npt, fdt);
            boolean ws = t == DType.BF16 && npt == 4 && hasWs(nt, fdt) && be.warpSpecialisedScan();
            String main = stem + (ws ? "_ws_main" : "_main" + suffix);
            CudaModule mm = be.module();
            if (ws && nt == 16) {
                CudaModule h = be.hopperScanModule(stem + "_ws4_main");
                if (h != null) {
                    main = stem + "_ws4_main";
                    mm = h;
                }
            }
            int mainThreads = ws ? threads + WS_HELP : threads;
            int mainSmem = ws ? wsSmem(eb, nt, npt, fdt) : smem;
            int occ = Math.max(1, mm.occupancy(main, mainThreads, mainSmem));
            long slots = sms * occ;
            double factor = npt == 4 ? 1.0 : 1.3;
            int maxSeg = (int) Math.max(1, Math.min(64, steps / (4L * TT)));
            for (int s = 1; s <= maxSeg; s++) {
                if (npt == 2 && s > 1) {
                    break;  // long lanes are split with 4 states per thread
                }
                int segLen = (int) (((long) steps + s - 1) / s);
                segLen = (segLen + TT - 1) / TT * TT;
                int segs = (int) (((long) steps + segLen - 1) / segLen);
                if (segs != s) {
                    continue;
                }
                double cost = Math.ceil((double) base * s / slots) * segLen * factor;
                if (s > 1) {
                    cost += Math.ceil((double) base * (s - 1) / slots) * Math.min(segLen, FIX_STEPS) * 0.8 * factor;
                }
                if (cost < bestCost * 0.98) {
                    bestCost = cost;
                    best = new Plan(main, mainThreads, mainSmem, mm, stem + "_fix" + suffix, threads, smem, npt, s,
                            s == 1 ? steps : segLen, DT);
                }
            }
        }
        return best;
    }
}
