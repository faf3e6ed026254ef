package dev.mamba.kernels.cuda;

import dev.mamba.kernels.Backend;
import dev.mamba.kernels.DType;
import dev.mamba.kernels.Precision;
import dev.mamba.kernels.Tensor;
import dev.mamba.kernels.cpu.CpuBackend;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** conv1dSilu and selectiveScan on the GPU against the CPU reference; chunk invariance on the GPU. */
@Tag("gpu")
class CudaScanGpuTest {

    /** lanes, steps, channels D, states N, conv width K, dt rank R (B/C column offset), with z (1/0), lens... */
    private static final int[][] CASES = {
            {1, 1, 40, 16, 4, 16, 1, 1},
            {2, 31, 40, 8, 3, 5, 1, 31, 0},
            {3, 33, 72, 16, 4, 16, 1, 33, 32, 1},
            {2, 32, 64, 16, 4, 48, 0, 32, 31},
            {1, 4097, 64, 16, 4, 16, 1, 4097},        // one long lane: split into time segments
            {2, 4097, 40, 8, 4, 3, 1, 4097, 4096},    // segments with N = 8 and unaligned B/C views
            {4, 300, 1536, 16, 4, 48, 1, 300, 0, 299, 150},  // 130m channel count
            {1, 200, 100, 5, 7, 2, 1, 200},           // N = 5 (padded to 8), K = 7 (generic conv)
            {2, 45, 33, 16, 4, 16, 1, 45, 44},        // odd D: one channel per conv thread, a partial scan block
    };

    /** The inputs of one case, uploaded to a backend in its activation type. */
    static final class Inputs {
        final int lanes, steps, d, n, k, rank;
        final int[] lens;
        final boolean withZ;
        final float[] xz, convW, convB, convState, dbc, dt, dtBias, aNeg, dSkip, ssmState;

        Inputs(Random r, int[] c) {
            lanes = c[0];
            steps = c[1];
            d = c[2];
            n = c[3];
            k = c[4];
            rank = c[5];
            withZ = c[6] != 0;
            lens = new int[lanes];
            for (int b = 0; b < lanes; b++) {
                lens[b] = c[7 + b];
            }
            int rows = lanes * steps;
            xz = GpuTest.gauss(r, rows * 2 * d, 0, 1);
            convW = GpuTest.uniform(r, d * k, -0.5, 0.5);
            convB = GpuTest.gauss(r, d, 0, 0.2);
            convState = GpuTest.gauss(r, lanes * d * (k - 1), 0, 1);
            dbc = GpuTest.gauss(r, rows * (rank + 2 * n), 0, 1);
            dt = GpuTest.gauss(r, rows * d, 0, 0.5);
            dtBias = GpuTest.uniform(r, d, -5, -1.5);
            aNeg = new float[d * n];
            for (int i = 0; i < d; i++) {
                for (int j = 0; j < n; j++) {
                    aNeg[i * n + j] = (float) (-(j + 1) * (0.5 + r.nextDouble()));
                }
            }
            dSkip = GpuTest.gauss(r, d, 1, 0.3);
            ssmState = GpuTest.gauss(r, lanes * d * n, 0, 0.5);
        }
    }

    /** Handles of one backend's tensors for a case. */
    static final class On {
        final Backend be;
        final Tensor xz, x, z, convW, convB, convState, lens, xc, dbc, bv, cv, dt, dtBias, aNeg, dSkip, ssmState, y;

        On(Backend be, Inputs in) {
            this.be = be;
            DType act = be.activationType();
            int rows = in.lanes * in.steps, w = in.rank + 2 * in.n;
            xz = be.upload("xz", in.xz, rows, 2 * in.d, act);
            x = xz.columns(0, in.d);
            z = in.withZ ? xz.columns(in.d, 2 * in.d) : null;
            convW = be.upload("conv.w", in.convW, in.d, in.k, DType.F32);
            convB = be.upload("conv.b", in.convB, 1, in.d, DType.F32);
            convState = be.upload("conv.state", in.convState, in.lanes, in.d * (in.k - 1), DType.F32);
            lens = be.allocate("lens", in.lanes, 1, DType.I32);
            be.write(lens, in.lens, 0);
            xc = be.allocate("xc", rows, in.d, act);
            dbc = be.upload("dbc", in.dbc, rows, w, act);
            bv = dbc.columns(in.rank, in.rank + in.n);
            cv = dbc.columns(in.rank + in.n, w);
            dt = be.upload("dt", in.dt, rows, in.d, act);
            dtBias = be.upload("dt.bias", in.dtBias, 1, in.d, DType.F32);
            aNeg = be.upload("A", in.aNeg, in.d, in.n, DType.F32);
            dSkip = be.upload("D", in.dSkip, 1, in.d, DType.F32);
            ssmState = be.upload("ssm.state", in.ssmState, in.lanes, in.d * in.n, DType.F32);
            y = be.allocate("y", rows, in.d, act);
        }

        Tensor[] owned() {
            return new Tensor[] {xz, convW, convB, convState, lens, xc, dbc, dt, dtBias, aNeg, dSkip, ssmState, y};
        }

        void conv() {
            be.conv1dSilu(x, convW, convB, convState, lens, xc);
        }

        /** The scan on x itself (not the conv output) so that scan errors are measured alone. */
        void scan(Tensor u) {
            be.selectiveScan(u, dt, dtBias, aNeg, bv, cv, dSkip, z, ssmState, lens, y);
        }
    }

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"FP32", "BF16"})
    void convAndScanMatchCpu(Precision precision) {
        GpuTest.assumeCuda();
        try (Backend gpu = GpuTest.open(precision)) {
            matchCpu(gpu, precision, new Random(21));
        }
    }

    /**
     * bf16's main passes one by one against the CPU on every case: the default (on sm_90a the 16-state
     * warp-specialised pass of the sm_90a module, 4 blocks per SM), the portable warp-specialised pass
     * (-Dmamba.cuda.scanWs4=false), the phase-by-phase kernel (-Dmamba.cuda.scanWs=false) and the
     * channel-per-thread pass (-Dmamba.cuda.scanChan=force: the cases it cannot take fall back); and that each
     * setting plans the kernel it names at the 130m shape (the sm_90a pass wherever the sm_90a module loaded:
     * a module without it fails here instead of falling back quietly).
     */
    @ParameterizedTest
    @ValueSource(strings = {"", "scanWs4", "scanWs", "scanChan"})
    void bf16MainPassesMatchCpu(String off) {
        GpuTest.assumeCuda();
        withProperties(() -> {
            try (Backend gpu = GpuTest.open(Precision.BF16)) {
                CudaBackend cb = (CudaBackend) gpu;
                String main = CudaScan.plan(cb, DType.BF16, 4, 1536, 16, 2048, false).main();
                String want = off.equals("scanChan") ? "mamba_scan_bf16_n16_chan_main"
                        : off.equals("scanWs") ? "mamba_scan_bf16_n16_p4_main"
                        : off.isEmpty() && cb.wgmmaModule() != null
                        ? "mamba_scan_bf16_n16_p4_ws4_main" : "mamba_scan_bf16_n16_p4_ws_main";
                assertEquals(want, main, "main pass planned with " + (off.isEmpty() ? "the defaults" : switchOf(off)));
                matchCpu(gpu, Precision.BF16, new Random(22));
            }
        }, off.isEmpty() ? null : "mamba.cuda." + off, off.equals("scanChan") ? "force" : "false");
    }

    /** The property setting a test variant names: scanChan forces that pass, the others switch theirs off. */
    private static String switchOf(String off) {
        return off + (off.equals("scanChan") ? "=force" : "=false");
    }

    /**
     * The channel-per-thread main pass (scan_chan.cuh) against the CPU, forced (-Dmamba.cuda.scanChan=force) on
     * its cases: the 130m channel count with ragged and empty lanes, lanes of 1 and 9 steps with idle warps in a
     * block (D = 64), a long lane (this pass never splits lanes), no z; and that the default planning takes it for
     * as many lanes of 1536 channels as fill the GPU, and not for 4; bf16 also with dt_proj fused in at that many
     * lanes (-Dmamba.cuda.fusedDtProj=true).
     */
    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"FP32", "BF16"})
    void channelPerThreadPassMatchesCpu(Precision precision) {
        GpuTest.assumeCuda();
        int[][] cases = {
                {4, 300, 1536, 16, 4, 48, 1, 300, 0, 299, 150},
                {3, 33, 64, 16, 4, 16, 1, 33, 9, 1},
                {1, 4097, 32, 16, 4, 16, 1, 4097},
                {2, 70, 96, 16, 4, 16, 0, 70, 64},
        };
        String chan = "mamba_scan_" + (precision == Precision.BF16 ? "bf16" : "f32") + "_n16_chan_main";
        withProperties(() -> {
            try (Backend gpu = GpuTest.open(precision)) {
                for (int[] c : cases) {
                    assertEquals(chan, CudaScan.plan((CudaBackend) gpu, gpu.activationType(), c[0], c[2], c[3], c[1], false)
                            .main(), "forced plan for " + java.util.Arrays.toString(c));
                }
                matchCpu(gpu, precision, new Random(24), cases);
            }
        }, "mamba.cuda.scanChan", "force");
        try (Backend gpu = GpuTest.open(precision)) {
            CudaBackend cb = (CudaBackend) gpu;
            int many = (CudaScan.CHAN_WARPS_PER_SM * cb.smCount() + 47) / 48;
            assertEquals(chan, CudaScan.plan(cb, gpu.activationType(), many, 1536, 16, 2048, false).main(),
                    many + " lanes of 1536 channels");
            org.junit.jupiter.api.Assertions.assertNotEquals(chan,
                    CudaScan.plan(cb, gpu.activationType(), 4, 1536, 16, 2048, false).main(), "4 lanes");
        }
        if (precision == Precision.BF16) {
            // with -Dmamba.cuda.fusedDtProj=true selectiveScanProjected fuses dt_proj into this pass where it runs
            withProperties(() -> fusedAtManyLanes(), "mamba.cuda.fusedDtProj", "true");
        }
    }

    /**
     * selectiveScanProjected with dt_proj fused in at as many lanes as the default planning gives the
     * channel-per-thread pass (40 steps, ragged and empty lanes): it matches the CPU and writes no dt.
     */
    private static void fusedAtManyLanes() {
        try (Backend gpu = GpuTest.open(Precision.BF16); Backend cpu = new CpuBackend(2)) {
            CudaBackend cb = (CudaBackend) gpu;
            int many = (CudaScan.CHAN_WARPS_PER_SM * cb.smCount() + 47) / 48;
            assertEquals("mamba_scan_bf16_n16_chan_dtp_main", CudaScan.plan(cb, DType.BF16, many, 1536, 16, 40, true).main());
            int[] c = new int[7 + many];
            System.arraycopy(new int[] {many, 40, 1536, 16, 4, 48, 1}, 0, c, 0, 7);
            for (int i = 0; i < many; i++) {
                c[7 + i] = i == 1 ? 0 : 40 - i % 7;
            }
            Random r = new Random(25);
            fusedCaseMatchesCpu(gpu, cpu, new Inputs(r, c), r, "fused, " + many + " lanes");
        }
    }

    /**
     * One case of selectiveScanProjected with dt_proj fused in (a random dt_proj weight of the case's rank): y and
     * the state match the CPU's GEMM + scan, the dt scratch is not written, no device memory is left.
     */
    private static void fusedCaseMatchesCpu(Backend gpu, Backend cpu, Inputs in, Random r, String what) {
        projectedCaseMatchesCpu(gpu, cpu, Precision.BF16, in, r, what, true);
    }

    /**
     * One case of selectiveScanProjected (a random dt_proj weight of the case's rank): y and the state match the
     * CPU's GEMM + scan within precision's tolerance; dtUntouched: the dt scratch is not written (dt_proj fused
     * into the scan); no device memory is left.
     */
    private static void projectedCaseMatchesCpu(Backend gpu, Backend cpu, Precision precision, Inputs in, Random r,
                                                String what, boolean dtUntouched) {
        float[] w = GpuTest.gauss(r, in.d * in.rank, 0, 1 / Math.sqrt(in.rank));
        On a = new On(cpu, in), g = new On(gpu, in);
        Tensor wa = cpu.uploadMatrix("dt_proj", w, in.d, in.rank), wg = gpu.uploadMatrix("dt_proj", w, in.d, in.rank);
        float[] dtBefore = GpuTest.read(gpu, g.dt);
        for (On o : new On[] {a, g}) {
            o.be.selectiveScanProjected(o.x, o.dbc.columns(0, in.rank), o == a ? wa : wg, o.dt, o.dtBias,
                    o.aNeg, o.bv, o.cv, o.dSkip, o.z, o.ssmState, o.lens, o.y);
        }
        GpuTest.assertClose(valid(gpu, g.y, in), valid(cpu, a.y, in), GpuTest.tol(precision), what + " y");
        GpuTest.assertClose(GpuTest.read(gpu, g.ssmState), GpuTest.read(cpu, a.ssmState),
                GpuTest.tol(precision), what + " ssm state");
        if (dtUntouched) {
            org.junit.jupiter.api.Assertions.assertArrayEquals(dtBefore, GpuTest.read(gpu, g.dt),
                    what + ": the fused kernel must not write the dt scratch");
        }
        for (Tensor t : g.owned()) {
            gpu.free(t);
        }
        gpu.free(wg);
        assertEquals(0, gpu.bytesAllocated(), "device bytes left after " + what);
    }

    /** conv1dSilu and the scan of every case on gpu against a CPU backend; no device memory left after each. */
    private static void matchCpu(Backend gpu, Precision precision, Random r) {
        matchCpu(gpu, precision, r, CASES);
    }

    private static void matchCpu(Backend gpu, Precision precision, Random r, int[][] cases) {
        double tol = GpuTest.tol(precision);
        for (int[] c : cases) {
            Inputs in = new Inputs(r, c);
            String what = precision + " case " + java.util.Arrays.toString(c);
            try (Backend cpu = new CpuBackend(2)) {
                On a = new On(cpu, in), g = new On(gpu, in);
                a.conv();
                g.conv();
                GpuTest.assertClose(valid(gpu, g.xc, in), valid(cpu, a.xc, in), tol, what + " conv out");
                GpuTest.assertClose(GpuTest.read(gpu, g.convState), GpuTest.read(cpu, a.convState),
                        precision == Precision.FP32 ? 0 : tol, what + " conv state");
                a.scan(a.x);
                g.scan(g.x);
                GpuTest.assertClose(valid(gpu, g.y, in), valid(cpu, a.y, in), tol, what + " scan y");
                GpuTest.assertClose(GpuTest.read(gpu, g.ssmState), GpuTest.read(cpu, a.ssmState), tol,
                        what + " ssm state");
                for (Tensor t : g.owned()) {
                    gpu.free(t);
                }
            }
            assertEquals(0, gpu.bytesAllocated(), "device bytes left after " + what);
        }
    }

    /**
     * bf16 with dt_proj fused into the scan (-Dmamba.cuda.fusedDtProj=true) against the CPU's dt_proj GEMM +
     * scan: ranks 48 (130m), 16 and 5 (padded k16 slices), a long lane (time segments and the fix-up), N = 8
     * (the phase-by-phase kernel's fused variant), and that no dt tensor is written; for each bf16 main pass
     * as in {@link #bf16MainPassesMatchCpu} (16 states: the warp-specialised passes fuse it by default).
     */
    @ParameterizedTest
    @ValueSource(strings = {"", "scanWs4", "scanWs", "scanChan"})
    void fusedDtProjMatchesCpu(String off) {
        GpuTest.assumeCuda();
        int[][] cases = {
                {2, 300, 1536, 16, 4, 48, 1, 300, 123},
                {1, 4097, 64, 16, 4, 16, 1, 4097},
                {2, 100, 40, 8, 4, 5, 0, 100, 0},
                {2, 77, 72, 16, 4, 40, 1, 77, 50},
                {1, 50, 40, 16, 4, 5, 1, 50},
        };
        Random r = new Random(23);
        withProperties(() -> {
            try (Backend gpu = GpuTest.open(Precision.BF16); Backend cpu = new CpuBackend(2)) {
                String want = off.equals("scanChan") ? "mamba_scan_bf16_n16_chan_dtp_main"
                        : off.equals("scanWs") ? "mamba_scan_bf16_n16_p4_dtp_main"
                        : off.isEmpty() && ((CudaBackend) gpu).wgmmaModule() != null
                        ? "mamba_scan_bf16_n16_p4_dtp_ws4_main" : "mamba_scan_bf16_n16_p4_dtp_ws_main";
                assertEquals(want, CudaScan.plan((CudaBackend) gpu, DType.BF16, 4, 1536, 16, 2048, true).main(),
                        "fused main pass planned with " + (off.isEmpty() ? "the defaults" : switchOf(off)));
                for (int[] c : cases) {
                    fusedCaseMatchesCpu(gpu, cpu, new Inputs(r, c), r,
                            "fused dt_proj case " + java.util.Arrays.toString(c) + " " + off);
                }
            }
        }, "mamba.cuda.fusedDtProj", "true", off.isEmpty() ? null : "mamba.cuda." + off,
                off.equals("scanChan") ? "force" : "false");
    }

    /**
     * bf16 conv + x_proj fused (conv_xproj.cu) against the CPU's conv1dSilu then linear: xc, the x_proj output
     * and the conv state of the valid rows; xc also against the GPU's own conv kernel (the same taps in the same
     * order, silu through tanh.approx: within bf16 rounding). Cases: the 130m shape (N = 80), ranks 16 and 96
     * (N = 48 and 128), N = 21 (padded to 32, odd: unpaired stores), a lane shorter than the window, an empty
     * lane, blocks inside lanes (the path without row checks) and several waves of blocks; and that the fused
     * kernel ran (forced: -Dmamba.cuda.fusedConvXProj=true). No device memory left.
     */
    @org.junit.jupiter.api.Test
    void convXProjFusedMatchesCpu() {
        GpuTest.assumeCuda();
        withProperties(CudaScanGpuTest::convXProjCases, "mamba.cuda.fusedConvXProj", "true");
    }

    private static void convXProjCases() {
        Random r = new Random(26);
        try (Backend gpu = GpuTest.open(Precision.BF16); Backend cpu = new CpuBackend(2)) {
            CudaBackend cb = (CudaBackend) gpu;
            int manyLanes = (2 * cb.smCount() * 128 + 511) / 512 + 1;  // ~8 blocks per SM: the second wave and on
            int[] many = new int[7 + manyLanes];
            System.arraycopy(new int[] {manyLanes, 512, 128, 16, 4, 16, 1}, 0, many, 0, 7);
            for (int i = 0; i < manyLanes; i++) {
                many[7 + i] = i == 2 ? 1 : 512 - (i * 37) % 200;
            }
            int[][] cases = {
                    {3, 300, 1536, 16, 4, 48, 1, 300, 0, 151},
                    {2, 33, 128, 16, 4, 16, 1, 33, 2},
                    {4, 2, 64, 8, 4, 5, 1, 2, 1, 0, 2},
                    {2, 70, 64, 16, 4, 96, 1, 70, 69},
                    many,
            };
            for (int[] c : cases) {
                Inputs in = new Inputs(r, c);
                int n = in.rank + 2 * in.n;
                String what = "conv+x_proj " + c[0] + " lanes x " + c[1] + " steps, D " + in.d + ", N " + n;
                float[] w = GpuTest.gauss(r, n * in.d, 0, 1 / Math.sqrt(in.d));
                On a = new On(cpu, in), g = new On(gpu, in), ref = new On(gpu, in);
                Tensor wa = cpu.uploadMatrix("x_proj", w, n, in.d), wg = gpu.uploadMatrix("x_proj", w, n, in.d);
                a.be.conv1dSiluLinear(a.x, a.convW, a.convB, a.convState, a.lens, a.xc, wa, a.dbc);
                g.be.conv1dSiluLinear(g.x, g.convW, g.convB, g.convState, g.lens, g.xc, wg, g.dbc);
                ref.conv();
                String kernel = "mamba_conv_xproj_bf16_w4_n" + (n + 15) / 16 * 16;
                org.junit.jupiter.api.Assertions.assertTrue(cb.launched(kernel), what + ": " + kernel + " did not run");
                double tol = GpuTest.tol(Precision.BF16);
                GpuTest.assertClose(valid(gpu, g.xc, in), valid(cpu, a.xc, in), tol, what + " xc");
                GpuTest.assertClose(valid(gpu, g.xc, in), valid(gpu, ref.xc, in), 2e-3, what + " xc vs the conv kernel");
                GpuTest.assertClose(valid(gpu, g.dbc, in), valid(cpu, a.dbc, in), tol, what + " x_proj output");
                // the CPU's x is f32, the GPU's bf16: the state's new entries differ by that rounding
                GpuTest.assertClose(GpuTest.read(gpu, g.convState), GpuTest.read(cpu, a.convState), tol,
                        what + " conv state");
                GpuTest.assertClose(GpuTest.read(gpu, g.convState), GpuTest.read(gpu, ref.convState), 0,
                        what + " conv state vs the conv kernel");
                for (On o : new On[] {g, ref}) {
                    for (Tensor t : o.owned()) {
                        gpu.free(t);
                    }
                }
                gpu.free(wg);
                assertEquals(0, gpu.bytesAllocated(), "device bytes left after " + what);
            }
        }
    }

    /**
     * bf16: the dt_proj GEMM writing δ = softplus(dt + bias) for the channel-per-thread pass
     * (-Dmamba.cuda.deltaInDtProj=true; the pass forced on small shapes) against the CPU's GEMM + scan, ranks
     * 48 and 40, ragged and empty lanes, no z, 16384 rows; and that the δ-reading pass ran. (FP32 / TF32 keep
     * the softplus in the scan: those cases check that path is still right with the pass forced.)
     */
    @ParameterizedTest
    @EnumSource(Precision.class)
    void deltaFromDtProjMatchesCpu(Precision precision) {
        GpuTest.assumeCuda();
        // the last case has the forward's row count at 8 x 2048 (16384), where the GEMM tuner takes a wgmma tile
        // on sm_90a: its staged epilogue adds the bias and the softplus
        int[] big = new int[7 + 64];
        System.arraycopy(new int[] {64, 256, 1536, 16, 4, 48, 1}, 0, big, 0, 7);
        for (int i = 0; i < 64; i++) {
            big[7 + i] = 256 - (i * 13) % 90;
        }
        int[][] cases = {
                {2, 300, 1536, 16, 4, 48, 1, 300, 123},
                {3, 77, 64, 16, 4, 40, 0, 77, 0, 50},
                big,
        };
        Random r = new Random(27);
        withProperties(() -> {
            try (Backend gpu = GpuTest.open(precision); Backend cpu = new CpuBackend(2)) {
                for (int[] c : cases) {
                    projectedCaseMatchesCpu(gpu, cpu, precision, new Inputs(r, c), r,
                            precision + " δ from dt_proj, case " + java.util.Arrays.toString(c), false);
                }
                String kernel = precision == Precision.BF16 ? "mamba_scan_bf16_n16_chan_delta_main"
                        : "mamba_scan_f32_n16_chan_main";
                org.junit.jupiter.api.Assertions.assertTrue(((CudaBackend) gpu).launched(kernel), kernel + " did not run");
            }
        }, "mamba.cuda.scanChan", "force", "mamba.cuda.deltaInDtProj", "true");
    }

    /** Runs body with system properties set (key, value pairs; a null key is skipped), then restores them. */
    private static void withProperties(Runnable body, String... kv) {
        java.util.Map<String, String> was = new java.util.HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            if (kv[i] != null) {
                was.put(kv[i], System.getProperty(kv[i]));
                System.setProperty(kv[i], kv[i + 1]);
            }
        }
        try {
            body.run();
        } finally {
            was.forEach((k, v) -> {
                if (v == null) {
                    System.clearProperty(k);
                } else {
                    System.setProperty(k, v);
                }
            });
        }
    }

    private static float[] valid(Backend be, Tensor t, Inputs in) {
        return GpuTest.validRows(GpuTest.read(be, t), in.lanes, in.steps, t.cols(), in.lens);
    }

    /** Rows [t0, t0 + len) of every lane of a [lanes*steps, cols] array, as a [lanes*len, cols] array. */
    private static float[] slice(float[] m, int lanes, int steps, int cols, int t0, int len) {
        float[] out = new float[lanes * len * cols];
        for (int b = 0; b < lanes; b++) {
            System.arraycopy(m, (b * steps + t0) * cols, out, b * len * cols, len * cols);
        }
        return out;
    }

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"FP32", "BF16"})
    void chunkedCallsWithCarriedStateEqualOneCall(Precision precision) {
        GpuTest.assumeCuda();
        Random r = new Random(22);
        int[] c = {2, 100, 72, 16, 4, 16, 1, 100, 60};
        Inputs in = new Inputs(r, c);
        try (Backend gpu = GpuTest.open(precision)) {
            On whole = new On(gpu, in);
            whole.conv();
            whole.scan(whole.xc);
            float[] yWhole = GpuTest.read(gpu, whole.y);
            float[] yChunks = new float[yWhole.length];
            float[] ssm = in.ssmState, conv = in.convState;
            int[][] chunks = {{0, 37}, {37, 63}};
            for (int[] ch : chunks) {
                int t0 = ch[0], len = ch[1];
                int[] cl = new int[]{2, len, 72, 16, 4, 16, 1, 0, 0};
                Inputs part = new Inputs(new Random(0), cl);
                System.arraycopy(slice(in.xz, 2, 100, 2 * 72, t0, len), 0, part.xz, 0, part.xz.length);
                System.arraycopy(slice(in.dbc, 2, 100, 16 + 32, t0, len), 0, part.dbc, 0, part.dbc.length);
                System.arraycopy(slice(in.dt, 2, 100, 72, t0, len), 0, part.dt, 0, part.dt.length);
                System.arraycopy(in.convW, 0, part.convW, 0, in.convW.length);
                System.arraycopy(in.convB, 0, part.convB, 0, in.convB.length);
                System.arraycopy(in.dtBias, 0, part.dtBias, 0, in.dtBias.length);
                System.arraycopy(in.aNeg, 0, part.aNeg, 0, in.aNeg.length);
                System.arraycopy(in.dSkip, 0, part.dSkip, 0, in.dSkip.length);
                System.arraycopy(ssm, 0, part.ssmState, 0, ssm.length);
                System.arraycopy(conv, 0, part.convState, 0, conv.length);
                for (int b = 0; b < 2; b++) {
                    part.lens[b] = Math.max(0, Math.min(len, in.lens[b] - t0));
                }
                On p = new On(gpu, part);
                p.conv();
                p.scan(p.xc);
                float[] y = GpuTest.read(gpu, p.y);
                for (int b = 0; b < 2; b++) {
                    System.arraycopy(y, b * len * 72, yChunks, (b * 100 + t0) * 72, len * 72);
                }
                ssm = GpuTest.read(gpu, p.ssmState);
                conv = GpuTest.read(gpu, p.convState);
                for (Tensor t : p.owned()) {
                    gpu.free(t);
                }
            }
            double tol = precision == Precision.FP32 ? 1e-5 : 1e-3;
            GpuTest.assertClose(GpuTest.validRows(yChunks, 2, 100, 72, in.lens),
                    GpuTest.validRows(yWhole, 2, 100, 72, in.lens), tol, precision + " chunked y");
            GpuTest.assertClose(ssm, GpuTest.read(gpu, whole.ssmState), tol, precision + " chunked ssm state");
            GpuTest.assertClose(conv, GpuTest.read(gpu, whole.convState), 0, precision + " chunked conv state");
        }
    }
}
