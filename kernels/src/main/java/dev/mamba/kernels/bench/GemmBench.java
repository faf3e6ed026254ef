package dev.mamba.kernels.bench;

import dev.mamba.kernels.DType;
import dev.mamba.kernels.Tensor;
import dev.mamba.kernels.cpu.CpuBackend;
import dev.mamba.kernels.cpu.CpuParallel;
import dev.mamba.kernels.cpu.gemm.Gemm;
import dev.mamba.kernels.cpu.gemm.Gemms;
import dev.mamba.kernels.cpu.gemm.PackedWeights;
import dev.mamba.kernels.cpu.gemm.ScalarGemm;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Times the CPU matrix products on Mamba-130m's four projections and the selective scan, printing one
 * table row per (shape, implementation). Run with {@code --add-modules jdk.incubator.vector}.
 * Options: {@code --threads N} (default: processors), {@code --m M} (rows; default 16384 and 2048),
 * {@code --repeat R} (timed runs, default 5), {@code --scalar} (also time the scalar GEMM, at M ≤ 2048
 * only: it is slow), {@code --no-scan}, {@code --verbose} (every timed run).
 */
public final class GemmBench {
    /** in_proj, out_proj, x_proj, dt_proj of Mamba-130m (d_model 768, d_inner 1536, N 16, dt_rank 48). */
    private static final int[][] SHAPES_NK = {{3072, 768}, {768, 1536}, {80, 1536}, {1536, 48}};

    /** Print every timed run, not only the median. */
    private static boolean verbose;

    private GemmBench() {
    }

    /** Entry point; see the class comment for options. */
    public static void main(String[] args) {
        int threads = Runtime.getRuntime().availableProcessors();
        List<Integer> ms = new ArrayList<>(List.of(16384, 2048));
        int repeat = 5;
        boolean scalar = false;
        boolean scan = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--threads":
                    threads = Integer.parseInt(value(args, ++i));
                    break;
                case "--m":
                    ms = new ArrayList<>();
                    for (String s : value(args, ++i).split(",")) {
                        ms.add(Integer.parseInt(s.trim()));
                    }
                    break;
                case "--repeat":
                    repeat = Math.max(1, Integer.parseInt(value(args, ++i)));
                    break;
                case "--scalar":
                    scalar = true;
                    break;
                case "--no-scan":
                    scan = false;
                    break;
                case "--verbose":
                    verbose = true;
                    break;
                default:
                    throw new IllegalArgumentException("unknown option " + args[i]
                            + "; known: --threads N, --m M[,M...], --repeat R, --scalar, --no-scan, --verbose");
            }
        }
        System.out.printf(Locale.ROOT, "java %s, %s, %d threads, %d timed runs (median) after warm-up; %s%n",
                System.getProperty("java.version"), System.getProperty("os.arch"), threads, repeat, loadAverage());
        System.out.printf(Locale.ROOT, "%-22s %-12s %7s %11s %9s%n", "shape (M,N,K)", "impl", "threads",
                "ms/product", "GFLOP/s");
        try (CpuParallel par = new CpuParallel(threads)) {
            for (int m : ms) {
                for (int[] nk : SHAPES_NK) {
                    List<Gemm> impls = new ArrayList<>(List.of(Gemms.best()));
                    if (scalar && m <= 2048 && !(Gemms.best() instanceof ScalarGemm)) {
                        impls.add(new ScalarGemm());
                    }
                    for (Gemm g : impls) {
                        gemmRow(g, par, m, nk[0], nk[1], repeat);
                    }
                }
            }
        }
        if (scan) {
            scanRow(threads, 8, 1536, 16, 2048, repeat);
        }
        System.out.println("after: " + loadAverage());
    }

    /** The system load average where the OS shows it: other processes on the machine skew the timings. */
    private static String loadAverage() {
        try {
            String[] f = new String(java.nio.file.Files.readAllBytes(java.nio.file.Path.of("/proc/loadavg")),
                    java.nio.charset.StandardCharsets.US_ASCII).trim().split("\\s+");
            return "load average " + f[0] + " " + f[1] + " " + f[2] + " on "
                    + Runtime.getRuntime().availableProcessors() + " processors";
        } catch (java.io.IOException | RuntimeException e) {
            return "load average unknown";
        }
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) {
            throw new IllegalArgumentException("option " + args[i - 1] + " needs a value");
        }
        return args[i];
    }

    private static void gemmRow(Gemm g, CpuParallel par, int m, int n, int k, int repeat) {
        SplittableRandom rnd = new SplittableRandom(42);
        float[] x = random(rnd, m * k);
        float[] w = random(rnd, n * k);
        float[] bias = random(rnd, n);
        float[] out = new float[m * n];
        PackedWeights p = g.pack(w, 0, k, n, k);
        double flops = 2.0 * m * n * k;
        // Warm-up until C2 has compiled the kernel: at least 3 runs and ~1.5 GFLOP·(threads) of work.
        int warm = (int) Math.max(3, Math.min(50, 3e9 / flops));
        for (int i = 0; i < warm; i++) {
            g.multiply(par, m, x, 0, k, p, bias, 0, out, 0, n, false);
        }
        double[] ms = new double[repeat];
        for (int i = 0; i < repeat; i++) {
            long t0 = System.nanoTime();
            g.multiply(par, m, x, 0, k, p, bias, 0, out, 0, n, false);
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        if (verbose) {
            System.out.println("  runs (ms): " + Arrays.toString(ms));
        }
        double med = median(ms);
        System.out.printf(Locale.ROOT, "%-22s %-12s %7d %11.3f %9.1f%n", "(" + m + "," + n + "," + k + ")",
                g.name(), par.threads(), med, flops / med / 1e6);
    }

    private static void scanRow(int threads, int lanes, int d, int n, int steps, int repeat) {
        SplittableRandom rnd = new SplittableRandom(7);
        int rows = lanes * steps;
        try (CpuBackend be = new CpuBackend(threads)) {
            Tensor u = up(be, "u", rnd, rows, d, 1f, 0f);
            Tensor dt = up(be, "dt", rnd, rows, d, 1f, -2f);
            Tensor dtBias = up(be, "dt_bias", rnd, 1, d, 0.5f, 0f);
            Tensor a = up(be, "A", rnd, d, n, 0.5f, -1f);
            Tensor b = up(be, "B", rnd, rows, n, 1f, 0f);
            Tensor c = up(be, "C", rnd, rows, n, 1f, 0f);
            Tensor dSkip = up(be, "D", rnd, 1, d, 1f, 0f);
            Tensor z = up(be, "z", rnd, rows, d, 2f, 0f);
            Tensor state = be.allocate("state", lanes, d * n, DType.F32);
            Tensor lens = be.allocate("lens", lanes, 1, DType.I32);
            int[] len = new int[lanes];
            Arrays.fill(len, steps);
            be.write(lens, len, 0);
            Tensor y = be.allocate("y", rows, d, DType.F32);
            for (int i = 0; i < 3; i++) {
                be.selectiveScan(u, dt, dtBias, a, b, c, dSkip, z, state, lens, y);
            }
            double[] ms = new double[repeat];
            for (int i = 0; i < repeat; i++) {
                long t0 = System.nanoTime();
                be.selectiveScan(u, dt, dtBias, a, b, c, dSkip, z, state, lens, y);
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
            double med = median(ms);
            // Streams: u, dt, z read and y written per (row, channel); B, C per (row, state); state in and out.
            double bytes = 4.0 * ((double) rows * d * 4 + (double) rows * n * 2 + 2.0 * lanes * d * n);
            System.out.printf(Locale.ROOT, "scan lanes %d, D %d, N %d, T %d (%s): %.3f ms, %.3g tokens/s, %.2f GB/s%n",
                    lanes, d, n, steps, be.describe(), med, rows / (med / 1e3), bytes / (med / 1e3) / 1e9);
        }
    }

    private static Tensor up(CpuBackend be, String name, SplittableRandom rnd, int rows, int cols, float scale,
                             float shift) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = shift + scale * (float) (rnd.nextDouble() * 2 - 1);
        }
        return be.upload(name, v, rows, cols, DType.F32);
    }

    private static float[] random(SplittableRandom rnd, int size) {
        float[] v = new float[size];
        for (int i = 0; i < size; i++) {
            v[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return v;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
    }
}
