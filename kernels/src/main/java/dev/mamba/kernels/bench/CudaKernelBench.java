package dev.mamba.kernels.bench;

import dev.mamba.kernels.Backend;
import dev.mamba.kernels.DType;
import dev.mamba.kernels.Precision;
import dev.mamba.kernels.RelativeError;
import dev.mamba.kernels.Tensor;
import dev.mamba.kernels.cpu.CpuBackend;
import dev.mamba.kernels.cuda.CudaBackend;
import dev.mamba.kernels.cuda.CudaBackendProvider;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Kernel benchmark for the CUDA backend (not a test): device copy bandwidth, the selective scan at
 * mamba_ssm's benchmark shapes, and the GEMM at the 130m projection shapes. Prints a table and writes the
 * same numbers as JSON lines to {@code --out FILE}.
 *
 * <pre>
 * java -cp kernels.jar:jcuda.jar:jcuda-natives.jar dev.mamba.kernels.bench.CudaKernelBench --out bench.jsonl
 *      [--device 0] [--only copy,scan,gemm,model] [--runs 20]
 * </pre>
 */
public final class CudaKernelBench {
    private final int device;
    private final int runs;
    private final List<String> json = new ArrayList<>();

    private CudaKernelBench(int device, int runs) {
        this.device = device;
        this.runs = runs;
    }

    /** Entry point; see the class comment for the arguments. */
    public static void main(String[] args) throws IOException {
        String out = null, only = "copy,scan,gemm,model";
        int device = 0, runs = 20;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--out": out = args[++i]; break;
                case "--device": device = Integer.parseInt(args[++i]); break;
                case "--only": only = args[++i]; break;
                case "--runs": runs = Integer.parseInt(args[++i]); break;
                default:
                    System.err.println("unknown argument " + args[i]
                            + "; usage: --out FILE [--device N] [--only copy,scan,gemm,model] [--runs N]");
                    System.exit(2);
            }
        }
        CudaKernelBench b = new CudaKernelBench(device, runs);
        new CudaBackendProvider().describeDevices().forEach(System.out::println);
        List<String> parts = Arrays.asList(only.split(","));
        if (parts.contains("copy")) {
            b.copy();
        }
        if (parts.contains("scan")) {
            // fp32 activations twice: FMA-pipe exp2 (-Dmamba.cuda.scanExp=exact) and MUFU ex2.approx (the default)
            for (int[] s : new int[][] {{8, 1536, 4096, 16}, {1, 1536, 262144, 16}}) {
                String was = System.getProperty("mamba.cuda.scanExp");
                System.setProperty("mamba.cuda.scanExp", "exact");
                try {
                    b.scan(s[0], s[1], s[2], s[3], Precision.FP32);
                } finally {
                    if (was == null) {
                        System.clearProperty("mamba.cuda.scanExp");
                    } else {
                        System.setProperty("mamba.cuda.scanExp", was);
                    }
                }
                b.scan(s[0], s[1], s[2], s[3], Precision.TF32);
                b.scan(s[0], s[1], s[2], s[3], Precision.BF16);
            }
        }
        if (parts.contains("gemm")) {
            for (Precision p : Precision.values()) {
                b.gemm(p);
            }
        }
        if (parts.contains("model")) {
            for (Precision p : Precision.values()) {
                b.model(p, 8, 2048);
            }
        }
        if (out != null) {
            try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(Path.of(out), StandardCharsets.UTF_8))) {
                b.json.forEach(w::println);
            }
            System.out.println("wrote " + b.json.size() + " results to " + out);
        }
    }

    private CudaBackend open(Precision p) {
        return (CudaBackend) new CudaBackendProvider().open(device, p);
    }

    private static double median(float[] v) {
        float[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0;
    }

    private void emit(String kind, String fields) {
        json.add("{\"bench\":\"" + kind + "\"," + fields + "}");
    }

    // ---------------------------------------------------------------- copy bandwidth

    private void copy() {
        try (CudaBackend be = open(Precision.FP32)) {
            int rows = 32768, cols = 16384;  // 2 GiB of floats each
            Tensor a = be.allocate("copy.src", rows, cols, DType.F32);
            Tensor b = be.allocate("copy.dst", rows, cols, DType.F32);
            be.fill(a, 1f);
            float[] ms = be.time(() -> be.copyBytes(a, b), 2, 10);
            double t = median(ms);
            double bytes = 2.0 * rows * cols * 4;
            double gbs = bytes / (t * 1e-3) / 1e9;
            System.out.printf(Locale.ROOT, "%-44s %10.3f ms %10.1f GB/s (read+write)%n", "cuMemcpyDtoD 2 GiB", t, gbs);
            emit("copy", String.format(Locale.ROOT, "\"bytes\":%.0f,\"ms\":%.4f,\"gbps\":%.1f", bytes, t, gbs));
            be.free(a);
            be.free(b);
        }
    }

    // ---------------------------------------------------------------- scan

    /** Seeded xorshift64 stream of uniform floats in [lo, hi). */
    private static final class Uniform {
        private long s;

        Uniform(long seed) {
            s = seed * 0x9E3779B97F4A7C15L + 1;
        }

        float[] next(int count, float lo, float hi) {
            float[] v = new float[count];
            for (int i = 0; i < count; i++) {
                s ^= s << 13;
                s ^= s >>> 7;
                s ^= s << 17;
                v[i] = lo + (hi - lo) * ((s >>> 40) / (float) (1L << 24));
            }
            return v;
        }
    }

    /** Fills a tensor with uniform values in [lo, hi) in row chunks (no huge host arrays). */
    private static void fillUniform(Backend be, Tensor t, long seed, float lo, float hi) {
        int chunk = Math.max(1, (1 << 22) / Math.max(1, t.cols()));
        Uniform u = new Uniform(seed);
        for (int r0 = 0; r0 < t.rows(); r0 += chunk) {
            int r1 = Math.min(t.rows(), r0 + chunk);
            be.write(t.rows(r0, r1), u.next((r1 - r0) * t.cols(), lo, hi), 0);
        }
    }

    /** A matrix weight as the model uploads it ({@link Backend#uploadMatrix}), uniform in [lo, hi). */
    private static Tensor uniformMatrix(Backend be, String name, int rows, int cols, long seed, float lo, float hi) {
        return be.uploadMatrix(name, new Uniform(seed).next(rows * cols, lo, hi), rows, cols);
    }

    private void scan(int lanes, int d, int steps, int n, Precision p) {
        final int rank = 48;
        try (CudaBackend be = open(p)) {
            DType act = be.activationType();
            long rows = (long) lanes * steps;
            long setBytes = rows * (4L * d + 2L * n) * act.bytes();  // u, dt, z, y + B, C
            long l2 = 60L << 20;
            int sets = setBytes < 3 * l2 ? 3 : 1;
            List<Tensor[]> in = new ArrayList<>();
            for (int s = 0; s < sets; s++) {
                Tensor u = be.allocate("u", (int) rows, d, act);
                Tensor dt = be.allocate("dt", (int) rows, d, act);
                Tensor z = be.allocate("z", (int) rows, d, act);
                Tensor dbc = be.allocate("dbc", (int) rows, rank + 2 * n, act);
                Tensor y = be.allocate("y", (int) rows, d, act);
                fillUniform(be, u, 1 + s, -1.7f, 1.7f);
                fillUniform(be, dt, 2 + s, -1f, 1f);
                fillUniform(be, z, 3 + s, -2f, 2f);
                fillUniform(be, dbc, 4 + s, -1f, 1f);
                in.add(new Tensor[] {u, dt, z, dbc, y});
            }
            Tensor dtBias = be.allocate("dt.bias", 1, d, DType.F32);
            fillUniform(be, dtBias, 5, -5f, -2f);
            float[] a = new float[d * n];
            for (int i = 0; i < a.length; i++) {
                a[i] = -(i % n + 1);
            }
            Tensor aNeg = be.upload("A", a, d, n, DType.F32);
            Tensor dSkip = be.allocate("D", 1, d, DType.F32);
            be.fill(dSkip, 1f);
            Tensor state = be.allocate("state", lanes, d * n, DType.F32);
            Tensor lens = be.allocate("lens", lanes, 1, DType.I32);
            be.fill(lens, steps);
            int[] k = {0};
            Runnable op = () -> {
                Tensor[] t = in.get(k[0]++ % in.size());
                be.selectiveScan(t[0], t[1], dtBias, aNeg, t[3].columns(rank, rank + n),
                        t[3].columns(rank + n, rank + 2 * n), dSkip, t[2], state, lens, t[4]);
            };
            float[] ms = be.time(op, 3, runs);
            double t = median(ms);
            double bytes = rows * (4.0 * d + 2.0 * n) * act.bytes();
            double gbs = bytes / (t * 1e-3) / 1e9;
            double err = scanCheck(be, in.get(0), dtBias, aNeg, dSkip, lanes, d, steps, n, rank);
            String exp = be.describe().contains("scan exp exact") ? "exact" : "fast";
            String name = String.format(Locale.ROOT, "scan %s/%s (%d, %d, %d, %d)", act.name().toLowerCase(Locale.ROOT),
                    exp, lanes, d, steps, n);
            System.out.printf(Locale.ROOT, "%-44s %10.3f ms %10.1f GB/s  sets=%d  rel.err(64 ch)=%.2e%n", name, t,
                    gbs, sets, err);
            emit("scan", String.format(Locale.ROOT,
                    "\"dtype\":\"%s\",\"exp\":\"%s\",\"batch\":%d,\"dim\":%d,\"length\":%d,\"state\":%d,\"ms\":%.4f,"
                            + "\"bytes\":%.0f,\"gbps\":%.1f,\"input_sets\":%d,\"rel_err\":%.3e",
                    act.name().toLowerCase(Locale.ROOT), exp, lanes, d, steps, n, t, bytes, gbs, sets, err));
        }
    }

    /**
     * Runs the GPU scan once from a known state and compares channels [0, 64) (y over every step and the
     * final state) with the CPU backend fed the same values read back from the device.
     */
    private static double scanCheck(CudaBackend be, Tensor[] t, Tensor dtBias, Tensor aNeg, Tensor dSkip, int lanes,
                                    int d, int steps, int n, int rank) {
        int ch = Math.min(64, d);
        Tensor state = be.allocate("check.state", lanes, d * n, DType.F32);
        fillUniform(be, state, 99, -0.5f, 0.5f);
        float[] s0 = read(be, state);
        Tensor lens = be.allocate("check.lens", lanes, 1, DType.I32);
        be.fill(lens, steps);
        be.selectiveScan(t[0], t[1], dtBias, aNeg, t[3].columns(rank, rank + n), t[3].columns(rank + n, rank + 2 * n),
                dSkip, t[2], state, lens, t[4]);
        float[] yGpu = read(be, t[4].columns(0, ch));
        float[] sGpu = read(be, state);
        try (CpuBackend cpu = new CpuBackend(0)) {
            int rows = lanes * steps;
            Tensor u = cpu.upload("u", read(be, t[0].columns(0, ch)), rows, ch, DType.F32);
            Tensor dt = cpu.upload("dt", read(be, t[1].columns(0, ch)), rows, ch, DType.F32);
            Tensor z = cpu.upload("z", read(be, t[2].columns(0, ch)), rows, ch, DType.F32);
            Tensor b = cpu.upload("B", read(be, t[3].columns(rank, rank + n)), rows, n, DType.F32);
            Tensor c = cpu.upload("C", read(be, t[3].columns(rank + n, rank + 2 * n)), rows, n, DType.F32);
            Tensor db = cpu.upload("dt.bias", read(be, dtBias.columns(0, ch)), 1, ch, DType.F32);
            Tensor a = cpu.upload("A", read(be, aNeg.rows(0, ch)), ch, n, DType.F32);
            Tensor ds = cpu.upload("D", read(be, dSkip.columns(0, ch)), 1, ch, DType.F32);
            float[] st = new float[lanes * ch * n];
            for (int l = 0; l < lanes; l++) {
                System.arraycopy(s0, l * d * n, st, l * ch * n, ch * n);
            }
            Tensor state2 = cpu.upload("state", st, lanes, ch * n, DType.F32);
            Tensor ln = cpu.allocate("lens", lanes, 1, DType.I32);
            int[] lv = new int[lanes];
            Arrays.fill(lv, steps);
            cpu.write(ln, lv, 0);
            Tensor y = cpu.allocate("y", rows, ch, DType.F32);
            cpu.selectiveScan(u, dt, db, a, b, c, ds, z, state2, ln, y);
            float[] yCpu = read(cpu, y);
            float[] sCpu = read(cpu, state2);
            float[] sG = new float[sCpu.length];
            for (int l = 0; l < lanes; l++) {
                System.arraycopy(sGpu, l * d * n, sG, l * ch * n, ch * n);
            }
            be.free(state);
            be.free(lens);
            return Math.max(RelativeError.of(yGpu, yCpu), RelativeError.of(sG, sCpu));
        }
    }

    private static float[] read(Backend be, Tensor t) {
        float[] v = new float[t.rows() * t.cols()];
        be.read(t, v, 0);
        return v;
    }

    // ---------------------------------------------------------------- GEMM

    private void gemm(Precision p) {
        // name, N, K, x is a column view of a [M, 80] tensor, accumulate into an f32 output. As the forward runs
        // them: out_proj writes its own output (the residual add is fused into the next RMSNorm; until run 22
        // this bench timed it accumulating into an f32 h, the form the forward dropped in run 10).
        Object[][] shapes = {
                {"in_proj", 3072, 768, false, false},
                {"x_proj", 80, 1536, false, false},
                {"dt_proj", 1536, 48, true, false},
                {"out_proj", 768, 1536, false, false},
        };
        try (CudaBackend be = open(p)) {
            DType act = be.activationType();
            for (int m : new int[] {16384, 131072}) {
                for (Object[] s : shapes) {
                    String name = (String) s[0];
                    int n = (Integer) s[1], k = (Integer) s[2];
                    boolean view = (Boolean) s[3], acc = (Boolean) s[4];
                    Tensor xs = be.allocate("x", m, view ? 80 : k, act);
                    fillUniform(be, xs, 7, -1f, 1f);
                    Tensor x = view ? xs.columns(0, k) : xs;
                    Tensor w = uniformMatrix(be, "w", n, k, 8, -0.05f, 0.05f);
                    Tensor o = be.allocate("out", m, n, acc ? DType.F32 : act);
                    float[] ms = be.time(() -> be.linear(x, w, null, o, acc), 3, Math.max(5, runs / 2));
                    double t = median(ms);
                    String kernel = be.lastGemmKernel();
                    double tflops = 2.0 * m * n * k / (t * 1e-3) / 1e12;
                    double err = gemmCheck(be, x, w, o, acc);
                    String label = String.format(Locale.ROOT, "gemm %s %s M=%d N=%d K=%d", p.lower(), name, m, n, k);
                    System.out.printf(Locale.ROOT, "%-44s %10.3f ms %10.1f TFLOP/s  rel.err(64 rows)=%.2e  kernel %s%n",
                            label, t, tflops, err, kernel);
                    emit("gemm", String.format(Locale.ROOT,
                            "\"precision\":\"%s\",\"op\":\"%s\",\"m\":%d,\"n\":%d,\"k\":%d,\"ms\":%.4f,\"tflops\":%.2f,"
                                    + "\"rel_err\":%.3e,\"kernel\":\"%s\"", p.lower(), name, m, n, k, t, tflops, err, kernel));
                    be.free(xs);
                    be.free(w);
                    be.free(o);
                }
            }
            be.gemmTuning().forEach(System.out::println);
            System.out.println("  " + be.describe());
        }
    }

    // ---------------------------------------------------------------- whole forward (130m shape)

    /**
     * A synthetic Mamba-130m forward (hidden 768, 24 layers, d_inner 1536, state 16, dt rank 48, conv 4,
     * vocab 50280) over {@code lanes} x {@code steps} tokens, issuing the operators exactly as the model
     * does; random weights. Reports tokens/s with and without the lm_head + token NLL.
     */
    private void model(Precision p, int lanes, int steps) {
        final int h = 768, d = 1536, n = 16, r = 48, k = 4, v = 50280, layers = 24;
        try (CudaBackend be = open(p)) {
            DType act = be.activationType();
            int rows = lanes * steps;
            Tensor emb = be.allocate("embedding", v, h, DType.F32);
            fillUniform(be, emb, 1, -1f, 1f);
            Tensor[][] w = new Tensor[layers][];
            for (int l = 0; l < layers; l++) {
                Tensor norm = be.allocate("norm", 1, h, DType.F32);
                be.fill(norm, 1f);
                Tensor in = uniformMatrix(be, "in_proj", 2 * d, h, 10 + l, -0.03f, 0.03f);
                Tensor cw = be.allocate("conv.w", d, k, DType.F32);
                fillUniform(be, cw, 20 + l, -0.5f, 0.5f);
                Tensor cb = be.allocate("conv.b", 1, d, DType.F32);
                Tensor xp = uniformMatrix(be, "x_proj", r + 2 * n, d, 30 + l, -0.02f, 0.02f);
                Tensor dp = uniformMatrix(be, "dt_proj", d, r, 40 + l, -0.1f, 0.1f);
                Tensor db = be.allocate("dt.bias", 1, d, DType.F32);
                fillUniform(be, db, 50 + l, -5f, -2f);
                float[] a = new float[d * n];
                for (int i = 0; i < a.length; i++) {
                    a[i] = -(i % n + 1);
                }
                Tensor an = be.upload("A", a, d, n, DType.F32);
                Tensor ds = be.allocate("D", 1, d, DType.F32);
                be.fill(ds, 1f);
                Tensor op = uniformMatrix(be, "out_proj", h, d, 60 + l, -0.02f, 0.02f);
                Tensor cs = be.allocate("conv.state", lanes, d * (k - 1), DType.F32);
                Tensor ss = be.allocate("ssm.state", lanes, d * n, DType.F32);
                w[l] = new Tensor[] {norm, in, cw, cb, xp, dp, db, an, ds, op, cs, ss};
            }
            Tensor normF = be.allocate("norm_f", 1, h, DType.F32);
            be.fill(normF, 1f);
            Tensor lmHead = uniformMatrix(be, "lm_head", v, h, 70, -0.03f, 0.03f);
            Tensor ids = be.allocate("ids", rows, 1, DType.I32);
            be.fill(ids, 17);
            Tensor targets = be.allocate("targets", rows, 1, DType.I32);
            be.fill(targets, 42);
            Tensor lens = be.allocate("lens", lanes, 1, DType.I32);
            be.fill(lens, steps);
            Tensor hs = be.allocate("h", rows, h, DType.F32);
            Tensor xn = be.allocate("xn", rows, h, act);
            Tensor xz = be.allocate("xz", rows, 2 * d, act);
            Tensor xc = be.allocate("xc", rows, d, act);
            Tensor dbc = be.allocate("dbc", rows, r + 2 * n, act);
            Tensor dt = be.allocate("dt", rows, d, act);
            Tensor y = be.allocate("y", rows, d, act);
            Tensor hf = be.allocate("hf", rows, h, DType.F32);
            Tensor logits = be.allocate("logits", rows, v, DType.F32);
            Tensor nll = be.allocate("nll", rows, 1, DType.F32);
            Runnable layersOnly = () -> {
                be.embedding(ids, emb, hs);
                for (Tensor[] l : w) {
                    be.rmsNorm(hs, l[0], 1e-5f, xn);
                    be.linear(xn, l[1], null, xz, false);
                    be.conv1dSilu(xz.columns(0, d), l[2], l[3], l[10], lens, xc);
                    be.linear(xc, l[4], null, dbc, false);
                    be.linear(dbc.columns(0, r), l[5], null, dt, false);
                    be.selectiveScan(xc, dt, l[6], l[7], dbc.columns(r, r + n), dbc.columns(r + n, r + 2 * n), l[8],
                            xz.columns(d, 2 * d), l[11], lens, y);
                    be.linear(y, l[9], null, hs, true);
                }
                be.rmsNorm(hs, normF, 1e-5f, hf);
            };
            Runnable withHead = () -> {
                layersOnly.run();
                be.linear(hf, lmHead, null, logits, false);
                be.tokenNll(logits, targets, nll);
            };
            double t1 = median(be.time(layersOnly, 2, 5));
            double t2 = median(be.time(withHead, 1, 5));
            double tok1 = rows / (t1 * 1e-3), tok2 = rows / (t2 * 1e-3);
            String label = String.format(Locale.ROOT, "model 130m %s %dx%d", p.lower(), lanes, steps);
            System.out.printf(Locale.ROOT, "%-44s %10.3f ms %10.3f M tokens/s (layers); %.3f ms %.3f M tokens/s (+lm_head, nll)%n",
                    label, t1, tok1 / 1e6, t2, tok2 / 1e6);
            emit("model", String.format(Locale.ROOT,
                    "\"precision\":\"%s\",\"lanes\":%d,\"steps\":%d,\"ms_layers\":%.3f,\"tokens_per_s_layers\":%.0f,"
                            + "\"ms_with_head\":%.3f,\"tokens_per_s_with_head\":%.0f", p.lower(), lanes, steps, t1, tok1,
                    t2, tok2));
        }
    }

    /** Recomputes the first 64 output rows on the CPU from the device's own inputs (accumulate off). */
    private static double gemmCheck(CudaBackend be, Tensor x, Tensor w, Tensor o, boolean acc) {
        int rows = Math.min(64, x.rows());
        be.linear(x.rows(0, rows), w, null, o.rows(0, rows), false);
        float[] got = read(be, o.rows(0, rows));
        try (CpuBackend cpu = new CpuBackend(0)) {
            Tensor xc = cpu.upload("x", read(be, x.rows(0, rows)), rows, x.cols(), DType.F32);
            Tensor wc = cpu.upload("w", read(be, w), w.rows(), w.cols(), DType.F32);
            Tensor oc = cpu.allocate("o", rows, w.rows(), DType.F32);
            cpu.linear(xc, wc, null, oc, false);
            return RelativeError.of(got, read(cpu, oc));
        }
    }
}
