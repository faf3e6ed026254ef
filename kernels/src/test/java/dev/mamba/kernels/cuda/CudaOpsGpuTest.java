package dev.mamba.kernels.cuda;

import dev.mamba.kernels.Backend;
import dev.mamba.kernels.DType;
import dev.mamba.kernels.Precision;
import dev.mamba.kernels.RelativeError;
import dev.mamba.kernels.Tensor;
import dev.mamba.kernels.cpu.CpuBackend;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each non-recurrent operator on the GPU against the CPU reference, in every precision. */
@Tag("gpu")
class CudaOpsGpuTest {

    /** linear shapes: M, N, K, x column offset in a wider parent (-1: plain), bias, accumulate. */
    private static final int[][] LINEAR = {
            {1, 1, 1, -1, 0, 0},
            {33, 8, 3, -1, 1, 0},
            {129, 80, 48, -1, 0, 1},
            {257, 200, 67, -1, 1, 1},
            {64, 1536, 48, 0, 0, 0},     // dt_proj on dbc.columns(0, R) (row stride R + 2N = 80)
            {70, 96, 40, 1, 1, 0},      // unaligned view: the scalar loader path
            {300, 768, 1536, -1, 1, 1},  // out_proj shape, accumulating into h
            {513, 3072, 768, -1, 0, 0},  // in_proj shape
    };

    @ParameterizedTest
    @EnumSource(Precision.class)
    void linearMatchesCpu(Precision precision) {
        GpuTest.assumeCuda();
        Random r = new Random(11);
        try (Backend cpu = new CpuBackend(2); Backend gpu = GpuTest.open(precision)) {
            for (int[] c : LINEAR) {
                for (DType outType : java.util.EnumSet.of(DType.F32, gpu.activationType())) {
                    linearCase(cpu, gpu, r, c, gpu.activationType(), outType, GpuTest.tol(precision), precision + " linear",
                            what -> { });
                }
            }
            // F32 input with the backend's weight type (lm_head on the final norm's fp32 output)
            int m = 77, n = 130, k = 64;
            Tensor[] x = GpuTest.both(cpu, gpu, "hf", GpuTest.gauss(r, m * k, 0, 1), m, k, DType.F32);
            Tensor[] w = GpuTest.both(cpu, gpu, "lm_head", GpuTest.gauss(r, n * k, 0, 0.2), n, k, gpu.matrixWeightType());
            Tensor[] o = GpuTest.both(cpu, gpu, "logits", new float[m * n], m, n, DType.F32);
            cpu.linear(x[0], w[0], null, o[0], false);
            gpu.linear(x[1], w[1], null, o[1], false);
            GpuTest.assertClose(GpuTest.read(gpu, o[1]), GpuTest.read(cpu, o[0]), GpuTest.tol(precision),
                    precision + " linear with fp32 input");
            for (Tensor[] t : new Tensor[][] {x, w, o}) {
                cpu.free(t[0]);
                gpu.free(t[1]);
            }
            assertEquals(0, gpu.bytesAllocated());
        }
    }

    /**
     * One linear case {M, N, K, x column offset in a wider parent (-1: plain), bias, accumulate} on both backends
     * (x of xType, w of the GPU's weight type), compared at tol; afterGpu gets the case's name after the GPU call.
     */
    private static void linearCase(Backend cpu, Backend gpu, Random r, int[] c, DType xType, DType outType, double tol,
                                   String label, java.util.function.Consumer<String> afterGpu) {
        int m = c[0], n = c[1], k = c[2], off = c[3];
        boolean bias = c[4] != 0, acc = c[5] != 0;
        String what = label + " M=" + m + " N=" + n + " K=" + k + " view=" + off + " bias=" + bias + " acc=" + acc
                + " out=" + outType;
        int width = off < 0 ? k : k + 32 + off;
        Tensor[] x = GpuTest.both(cpu, gpu, "x", GpuTest.gauss(r, m * width, 0, 1), m, width, xType);
        Tensor[] w = GpuTest.both(cpu, gpu, "w", GpuTest.gauss(r, n * k, 0, 1 / Math.sqrt(k)), n, k, gpu.matrixWeightType());
        Tensor[] b = GpuTest.both(cpu, gpu, "b", GpuTest.gauss(r, n, 0, 1), 1, n, DType.F32);
        Tensor[] o = GpuTest.both(cpu, gpu, "o", GpuTest.gauss(r, m * n, 0, 1), m, n, outType);
        Tensor xc = off < 0 ? x[0] : x[0].columns(off, off + k);
        Tensor xg = off < 0 ? x[1] : x[1].columns(off, off + k);
        cpu.linear(xc, w[0], bias ? b[0] : null, o[0], acc);
        gpu.linear(xg, w[1], bias ? b[1] : null, o[1], acc);
        afterGpu.accept(what);
        GpuTest.assertClose(GpuTest.read(gpu, o[1]), GpuTest.read(cpu, o[0]), tol, what);
        for (Tensor[] t : new Tensor[][] {x, w, b, o}) {
            cpu.free(t[0]);
            gpu.free(t[1]);
        }
    }

    /** bf16 shapes for the forced kernels: in_proj and out_proj-like with row tails, dt_proj on a view, N tail. */
    private static final int[][] FORCED = {
            {513, 3072, 768, -1, 0, 0},
            {300, 768, 1536, -1, 0, 0},
            {300, 768, 1536, -1, 1, 1},
            {300, 768, 1536, -1, 0, 1},  // out_proj adding into the residual: f32 += through bulk adds
            {384, 1536, 48, 0, 0, 0},
            {257, 520, 200, -1, 0, 0},
            {37, 520, 200, -1, 0, 0},  // fewer rows than a tile (the TMA kernels' x box: 128 rows)
    };

    /**
     * Each bf16 wgmma kernel, forced ({@code -Dmamba.cuda.gemm}), against the CPU: the tuner picks one per shape, so
     * the others would otherwise go unchecked beyond WgmmaCheck's small problems. On an sm_90a device every one of
     * them must pass WgmmaCheck (a kernel it turns off is reported here, not silently dropped).
     */
    @Test
    void everyWgmmaKernelMatchesCpu() {
        GpuTest.assumeCuda();
        Random r = new Random(12);
        for (CudaGemm.Kernel k : CudaGemm.hopperKernels(DType.BF16)) {
            System.setProperty("mamba.cuda.gemm", k.label);
            try (Backend cpu = new CpuBackend(2); Backend gpu = GpuTest.open(Precision.BF16)) {
                CudaBackend cb = (CudaBackend) gpu;
                org.junit.jupiter.api.Assumptions.assumeTrue(cb.wgmmaModule() != null, "no wgmma kernels: " + cb.describe());
                assertTrue(cb.describe().contains(" " + k.label + " ok"), k.label + " did not pass the wgmma check: " + cb.describe());
                for (int[] c : FORCED) {
                    for (DType outType : java.util.EnumSet.of(DType.F32, DType.BF16)) {
                        linearCase(cpu, gpu, r, c, DType.BF16, outType, GpuTest.tol(Precision.BF16), k.label,
                                what -> assertEquals(k.fullName(), cb.lastGemmKernel(), what + ": the forced kernel ran"));
                    }
                }
                assertEquals(0, gpu.bytesAllocated());
            } finally {
                System.clearProperty("mamba.cuda.gemm");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = Precision.class, names = {"FP32", "BF16"})
    void normsGathersAndReductionsMatchCpu(Precision precision) {
        GpuTest.assumeCuda();
        Random r = new Random(12);
        double tol = GpuTest.tol(precision);
        try (Backend cpu = new CpuBackend(2); Backend gpu = GpuTest.open(precision)) {
            DType act = gpu.activationType();
            // RMSNorm: f32 residual in, activation out (and f32 out)
            for (int h : new int[] {1, 7, 768, 2500}) {
                int m = 37;
                Tensor[] x = GpuTest.both(cpu, gpu, "h", GpuTest.gauss(r, m * h, 0.3, 2), m, h, DType.F32);
                Tensor[] w = GpuTest.both(cpu, gpu, "norm", GpuTest.gauss(r, h, 1, 0.1), 1, h, DType.F32);
                for (DType outType : new DType[] {act, DType.F32}) {
                    Tensor[] o = GpuTest.both(cpu, gpu, "xn", new float[m * h], m, h, outType);
                    cpu.rmsNorm(x[0], w[0], 1e-5f, o[0]);
                    gpu.rmsNorm(x[1], w[1], 1e-5f, o[1]);
                    double t = outType == DType.F32 ? 1e-6 : tol;
                    GpuTest.assertClose(GpuTest.read(gpu, o[1]), GpuTest.read(cpu, o[0]), t, "rmsNorm H=" + h + " " + outType);
                    cpu.free(o[0]);
                    gpu.free(o[1]);
                }
                cpu.free(x[0]);
                gpu.free(x[1]);
                cpu.free(w[0]);
                gpu.free(w[1]);
            }
            // embedding
            int v = 50, h = 70, m = 101;
            int[] ids = new int[m];
            for (int i = 0; i < m; i++) {
                ids[i] = r.nextInt(v);
            }
            Tensor idc = cpu.allocate("ids", m, 1, DType.I32), idg = gpu.allocate("ids", m, 1, DType.I32);
            cpu.write(idc, ids, 0);
            gpu.write(idg, ids, 0);
            Tensor[] table = GpuTest.both(cpu, gpu, "emb", GpuTest.gauss(r, v * h, 0, 1), v, h, DType.F32);
            Tensor[] e = GpuTest.both(cpu, gpu, "h", new float[m * h], m, h, DType.F32);
            cpu.embedding(idc, table[0], e[0]);
            gpu.embedding(idg, table[1], e[1]);
            assertEquals(0.0, RelativeError.of(GpuTest.read(gpu, e[1]), GpuTest.read(cpu, e[0])), "embedding is a copy");
            // add (activation into activation, and into f32)
            Tensor[] a = GpuTest.both(cpu, gpu, "a", GpuTest.gauss(r, m * h, 0, 1), m, h, act);
            cpu.add(a[0], e[0]);
            gpu.add(a[1], e[1]);
            GpuTest.assertClose(GpuTest.read(gpu, e[1]), GpuTest.read(cpu, e[0]), act == DType.F32 ? 1e-7 : tol, "add");
            // laneSummary with ragged lanes (0, T, T-1)
            int lanes = 3, steps = 37;
            int[] lens = {steps, 0, steps - 1};
            Tensor lc = cpu.allocate("lens", lanes, 1, DType.I32), lg = gpu.allocate("lens", lanes, 1, DType.I32);
            cpu.write(lc, lens, 0);
            gpu.write(lg, lens, 0);
            Tensor[] hid = GpuTest.both(cpu, gpu, "hf", GpuTest.gauss(r, lanes * steps * h, 0.5, 1), lanes * steps, h,
                    DType.F32);
            Tensor[] sum = GpuTest.both(cpu, gpu, "summary", GpuTest.gauss(r, lanes * 2 * h, 0, 1), lanes, 2 * h,
                    DType.F32);
            cpu.laneSummary(hid[0], lc, sum[0]);
            gpu.laneSummary(hid[1], lg, sum[1]);
            GpuTest.assertClose(GpuTest.read(gpu, sum[1]), GpuTest.read(cpu, sum[0]), 1e-6, "laneSummary");
            float[] sg = GpuTest.read(gpu, sum[1]);
            for (int j = 0; j < 2 * h; j++) {
                assertEquals(0f, sg[2 * h + j], "lane with lens 0 must be zeros");
            }
            // tokenNll with a large vocabulary and ignored targets
            int vocab = 50280, rows = 9;
            int[] tg = new int[rows];
            for (int i = 0; i < rows; i++) {
                tg[i] = i % 4 == 3 ? -1 : r.nextInt(vocab);
            }
            Tensor tc = cpu.allocate("targets", rows, 1, DType.I32), tgg = gpu.allocate("targets", rows, 1, DType.I32);
            cpu.write(tc, tg, 0);
            gpu.write(tgg, tg, 0);
            Tensor[] logits = GpuTest.both(cpu, gpu, "logits", GpuTest.gauss(r, rows * vocab, 0, 3), rows, vocab,
                    DType.F32);
            Tensor[] nll = GpuTest.both(cpu, gpu, "nll", new float[rows], rows, 1, DType.F32);
            cpu.tokenNll(logits[0], tc, nll[0]);
            gpu.tokenNll(logits[1], tgg, nll[1]);
            float[] ng = GpuTest.read(gpu, nll[1]), nc = GpuTest.read(cpu, nll[0]);
            for (int i = 0; i < rows; i++) {
                if (tg[i] < 0) {
                    assertTrue(Float.isNaN(ng[i]), "NaN expected for ignored target at row " + i);
                } else {
                    assertEquals(nc[i], ng[i], 1e-5 * Math.abs(nc[i]) + 1e-6, "nll row " + i);
                }
            }
        }
    }
}
