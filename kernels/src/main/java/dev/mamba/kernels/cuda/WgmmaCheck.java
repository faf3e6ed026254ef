package dev.mamba.kernels.cuda;

import dev.mamba.kernels.DType;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Checks the sm_90a wgmma GEMM kernels against a host reference before the backend uses them, in a
 * context of its own: a kernel whose synchronisation is wrong for the real hardware traps (its mbarrier
 * waits give up after ~2 s) or faults, which makes a CUDA context unusable; that must not be the
 * backend's. Problems cover ragged M/N/K, a single k-tile, bias, accumulate, bf16 output and several
 * tiles per persistent CTA (a grid of 2-3 CTAs, so the stage ring wraps). Verdicts are kept per device
 * for the life of the JVM.
 */
final class WgmmaCheck {
    private WgmmaCheck() {
    }

    /** Per device ordinal: kernel → null when it agreed with the reference, else the reason. */
    private static final Map<Integer, Map<CudaGemm.Kernel, String>> CACHE = new ConcurrentHashMap<>();

    /** One problem: shape, bias, accumulate, bf16 output, forced grid (0: the launcher's). */
    private record Problem(int m, int n, int k, boolean bias, boolean acc, boolean outBf16, int grid) {
    }

    private static final Problem[] PROBLEMS = {
            new Problem(300, 520, 200, true, false, false, 0),
            new Problem(257, 80, 1536, false, false, false, 2),
            new Problem(257, 80, 1536, false, false, true, 2),
            new Problem(129, 300, 48, true, true, false, 3),
            // bf16 out without bias: the 256-wide kernels' interior tiles go through the bulk-copy epilogue (4 of the
            // 9 tiles; 2 CTAs, so each reuses its buffers)
            new Problem(300, 520, 200, false, false, true, 2),
            // f32 += without bias: the same tiles through the bulk adds (out_proj adding into the residual)
            new Problem(300, 520, 200, false, true, false, 2),
    };

    /** Verdicts for {@code kernels} on this device, computed once per JVM. */
    static Map<CudaGemm.Kernel, String> verdicts(int deviceIndex, CUdevice device, byte[] fatbin,
                                                 List<CudaGemm.Kernel> kernels) {
        Map<CudaGemm.Kernel, String> known = CACHE.computeIfAbsent(deviceIndex, i -> new ConcurrentHashMap<>());
        List<CudaGemm.Kernel> todo = new ArrayList<>();
        for (CudaGemm.Kernel k : kernels) {
            if (!known.containsKey(k)) {
                todo.add(k);
            }
        }
        if (!todo.isEmpty()) {
            synchronized (known) {
                run(device, fatbin, todo, known);
            }
        }
        Map<CudaGemm.Kernel, String> out = new EnumMap<>(CudaGemm.Kernel.class);
        for (CudaGemm.Kernel k : kernels) {
            String v = known.get(k);
            out.put(k, "ok".equals(v) ? null : v);
        }
        return out;
    }

    /** Relative error of each problem, or a failure; fills {@code into} with "ok" or the reason. */
    private static void run(CUdevice device, byte[] fatbin, List<CudaGemm.Kernel> todo,
                            Map<CudaGemm.Kernel, String> into) {
        CUcontext previous = new CUcontext();
        JCudaDriver.cuCtxGetCurrent(previous);
        Map<DType, double[][]> refs = new EnumMap<>(DType.class);
        Map<DType, float[][][]> inputs = new EnumMap<>(DType.class);
        Probe probe = null;
        try {
            for (CudaGemm.Kernel k : todo) {
                if (into.containsKey(k)) {
                    continue;
                }
                float[][][] in = inputs.computeIfAbsent(k.input, WgmmaCheck::inputs);
                double[][] ref = refs.computeIfAbsent(k.input, t -> references(t, inputs.get(t)));
                try {
                    if (probe == null) {
                        probe = new Probe(device, fatbin);
                    }
                    StringBuilder errs = new StringBuilder();
                    String verdict = "ok";
                    for (int i = 0; i < PROBLEMS.length; i++) {
                        Problem pr = PROBLEMS[i];
                        double e = probe.relError(k, pr, in[i], ref[i]);
                        // tensor cores add in fp32 without IEEE rounding; a layout or sync error is O(1)
                        double tol = pr.outBf16 ? 5e-3 : 1e-4;
                        errs.append(String.format(Locale.ROOT, " %.1e", e));
                        if (!(e <= tol)) {
                            verdict = String.format(Locale.ROOT, "rel. error %.3g > %.0e on M=%d N=%d K=%d", e, tol,
                                    pr.m, pr.n, pr.k);
                            break;
                        }
                    }
                    into.put(k, verdict.equals("ok") ? "ok" : verdict);
                } catch (CudaException e) {
                    into.put(k, "failed: " + e.getMessage());
                    if (probe != null) {
                        probe.destroyQuietly();
                        probe = null;
                    }
                }
            }
        } finally {
            if (probe != null) {
                probe.destroyQuietly();
            }
            JCudaDriver.cuCtxSetCurrent(previous);
        }
    }

    /** Seeded inputs per problem: x [M, K], w [N, K], bias [N], out0 [M, N], rounded to what the kernel reads. */
    private static float[][][] inputs(DType t) {
        Random r = new Random(1234);
        float[][][] all = new float[PROBLEMS.length][][];
        for (int i = 0; i < PROBLEMS.length; i++) {
            Problem p = PROBLEMS[i];
            float[] x = new float[p.m * p.k], w = new float[p.n * p.k], b = new float[p.n], o = new float[p.m * p.n];
            for (float[] a : new float[][] {x, w, b, o}) {
                for (int j = 0; j < a.length; j++) {
                    a[j] = (float) r.nextGaussian();
                }
            }
            for (float[] a : new float[][] {x, w}) {
                for (int j = 0; j < a.length; j++) {
                    a[j] = t == DType.BF16 ? Bf16.round(a[j]) : tf32(a[j]);
                }
            }
            if (p.outBf16) {
                for (int j = 0; j < o.length; j++) {
                    o[j] = Bf16.round(o[j]);
                }
            }
            all[i] = new float[][] {x, w, b, o};
        }
        return all;
    }

    /** cvt.rna.tf32.f32: nearest, ties away from zero, 10 mantissa bits. */
    static float tf32(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7f800000) == 0x7f800000) {
            return f;
        }
        return Float.intBitsToFloat((u + 0x1000) & 0xffffe000);
    }

    private static double[][] references(DType t, float[][][] in) {
        double[][] out = new double[PROBLEMS.length][];
        for (int i = 0; i < PROBLEMS.length; i++) {
            Problem p = PROBLEMS[i];
            float[] x = in[i][0], w = in[i][1], b = in[i][2], o = in[i][3];
            double[] ref = new double[p.m * p.n];
            for (int r = 0; r < p.m; r++) {
                for (int c = 0; c < p.n; c++) {
                    double s = 0;
                    for (int k = 0; k < p.k; k++) {
                        s += (double) x[r * p.k + k] * w[c * p.k + k];
                    }
                    if (p.bias) {
                        s += b[c];
                    }
                    if (p.acc) {
                        s += o[r * p.n + c];
                    }
                    ref[r * p.n + c] = s;
                }
            }
            out[i] = ref;
        }
        return out;
    }

    /** A throwaway context with the wgmma module loaded. */
    private static final class Probe {
        final CUcontext ctx = new CUcontext();
        final CUstream stream = new CUstream();
        final CudaModule module;

        Probe(CUdevice device, byte[] fatbin) {
            CudaDriver.check(JCudaDriver.cuCtxCreate(ctx, 0, device), "cuCtxCreate(wgmma check)");
            CudaModule m = null;
            try {
                CudaDriver.check(JCudaDriver.cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING),
                        "cuStreamCreate(wgmma check)");
                m = new CudaModule(fatbin, stream, true);
            } catch (CudaException e) {
                JCudaDriver.cuCtxDestroy(ctx);
                throw e;
            }
            module = m;
        }

        double relError(CudaGemm.Kernel k, Problem p, float[][] in, double[] ref) {
            DType t = k.input;
            DType outType = p.outBf16 ? DType.BF16 : DType.F32;
            List<CUdeviceptr> held = new ArrayList<>();
            try {
                long x = upload(held, in[0], t), w = upload(held, in[1], t), b = upload(held, in[2], DType.F32);
                long o = upload(held, in[3], outType);
                long[] params = CudaGemm.params(x, w, p.bias ? b : 0, o, p.k, p.k, p.n, p.m, p.n, p.k, p.acc,
                        (p.k * t.bytes()) % 16 == 0, (p.k * t.bytes()) % 16 == 0, p.n % 2 == 0, p.outBf16,
                        t == DType.F32, false, CudaGemm.ACT_NONE);  // w: tf32-rounded here, as uploadMatrix leaves it
                long[] g = CudaGemm.grid(k, p.m, p.n, 132);
                if (k.persistent && p.grid > 0) {
                    g[0] = Math.min(g[0], p.grid);
                }
                module.launch(k.function, g[0], g[1], 1, k.threads, k.smem, CudaGemm.launchParams(k, params));
                CudaDriver.check(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize(" + k.function + ")");
                float[] got = download(held.get(3), p.m * p.n, outType);
                double num = 0, den = 0;
                for (int i = 0; i < got.length; i++) {
                    double d = got[i] - ref[i];
                    num += d * d;
                    den += ref[i] * ref[i];
                }
                return Math.sqrt(num / den);
            } finally {
                for (CUdeviceptr q : held) {
                    JCudaDriver.cuMemFree(q);
                }
            }
        }

        private static long upload(List<CUdeviceptr> held, float[] v, DType t) {
            CUdeviceptr p = new CUdeviceptr();
            long bytes = (long) v.length * t.bytes();
            CudaDriver.check(JCudaDriver.cuMemAlloc(p, Math.max(16, bytes)), "cuMemAlloc(wgmma check)");
            held.add(p);
            if (t == DType.BF16) {
                short[] s = new short[v.length];
                for (int i = 0; i < v.length; i++) {
                    s[i] = Bf16.fromFloat(v[i]);
                }
                CudaDriver.check(JCudaDriver.cuMemcpyHtoD(p, Pointer.to(s), bytes), "cuMemcpyHtoD(wgmma check)");
            } else {
                CudaDriver.check(JCudaDriver.cuMemcpyHtoD(p, Pointer.to(v), bytes), "cuMemcpyHtoD(wgmma check)");
            }
            return DeviceMemory.addressOf(p);
        }

        private static float[] download(CUdeviceptr p, int n, DType t) {
            float[] out = new float[n];
            if (t == DType.BF16) {
                short[] s = new short[n];
                CudaDriver.check(JCudaDriver.cuMemcpyDtoH(Pointer.to(s), p, 2L * n), "cuMemcpyDtoH(wgmma check)");
                for (int i = 0; i < n; i++) {
                    out[i] = Bf16.toFloat(s[i]);
                }
            } else {
                CudaDriver.check(JCudaDriver.cuMemcpyDtoH(Pointer.to(out), p, 4L * n), "cuMemcpyDtoH(wgmma check)");
            }
            return out;
        }

        void destroyQuietly() {
            try {
                module.unload();
            } catch (RuntimeException ignored) {
                // the context may already be unusable; destroying it frees everything
            }
            JCudaDriver.cuStreamDestroy(stream);
            JCudaDriver.cuCtxDestroy(ctx);
        }
    }
}
