package dev.mamba.jobs.bench;

import dev.mamba.kernels.Backend;
import dev.mamba.kernels.DType;
import dev.mamba.kernels.Tensor;
import dev.mamba.kernels.cuda.CudaBackend;
import dev.mamba.pipeline.checkpoint.RandomCheckpoint;
import dev.mamba.pipeline.config.MambaConfig;
import dev.mamba.pipeline.config.ModelFamily;
import dev.mamba.pipeline.model.ForwardBatch;
import dev.mamba.pipeline.model.MambaModel;
import dev.mamba.pipeline.model.Runner;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Forward-pass throughput of the backbone (embedding → layers → norm_f; no LM head, as the 179 MFLOP
 * per token of the 130m shape counts) at a given batch, and the rate of its four projection GEMMs
 * measured alone at the same M. With {@code -Dmamba.cuda.profile=true} on the CUDA backend it also prints the
 * per-operator device times of the timed calls.
 */
public final class ForwardBench {
    private ForwardBench() {
    }

    /** FLOPs per token of the backbone's GEMMs: 2 · (H·2D + D·(R+2N) + R·D + D·H) per layer. */
    public static double gemmFlopsPerToken(MambaConfig c) {
        long h = c.hiddenSize, d = c.intermediateSize, r = c.timeStepRank, n = c.stateSize;
        return 2.0 * c.numLayers * (h * 2 * d + d * (r + 2 * n) + r * d + d * h);
    }

    public static MambaConfig shape130m(int layers) {
        return new MambaConfig(ModelFamily.TOKENS, 768, layers, 50280, 16, 4, 1536, 48, true, false, 1e-5f, true, true,
                0, 0);
    }

    /** Runs the benchmark; returns the result fields (also printed as a table). */
    public static Map<String, Object> run(Backend be, MambaConfig cfg, int lanes, int steps, int repeat) {
        Map<String, Object> res = new LinkedHashMap<>();
        res.put("backend", be.describe());
        res.put("shape", "hidden " + cfg.hiddenSize + ", layers " + cfg.numLayers + ", state " + cfg.stateSize
                + ", d_inner " + cfg.intermediateSize);
        res.put("batch", lanes + " x " + steps);
        long t0 = System.nanoTime();
        try (MambaModel m = new MambaModel(RandomCheckpoint.random(cfg, 1), be); Runner r = m.newRunner(lanes, steps)) {
            res.put("load_s", (System.nanoTime() - t0) / 1e9);
            Random rnd = new Random(7);
            ForwardBatch b = new ForwardBatch(lanes, steps);
            b.tokens = new int[lanes * steps];
            for (int i = 0; i < b.tokens.length; i++) {
                b.tokens[i] = rnd.nextInt(cfg.vocabSize);
            }
            java.util.Arrays.fill(b.lens, steps);
            // warm-up (JIT / module load): one call over a short piece
            ForwardBatch w = new ForwardBatch(lanes, Math.min(steps, 128));
            w.tokens = java.util.Arrays.copyOf(b.tokens, lanes * w.steps);
            java.util.Arrays.fill(w.lens, w.steps);
            r.forward(w, EnumSet.noneOf(dev.mamba.pipeline.model.Output.class));
            // one untimed call at full size: per-shape kernel choices (GEMM tuning) happen here, not in the timing
            r.forward(b, EnumSet.noneOf(dev.mamba.pipeline.model.Output.class));
            be.synchronize();
            CudaBackend cuda = be instanceof CudaBackend ? (CudaBackend) be : null;
            if (cuda != null && cuda.profiling()) {
                cuda.profileReset();
            }
            List<Double> times = new ArrayList<>();
            for (int i = 0; i < repeat; i++) {
                for (int lane = 0; lane < lanes; lane++) {
                    r.reset(lane);
                }
                be.synchronize(); // the resets' fills must not run inside the timed forward
                long s = System.nanoTime();
                r.forward(b, EnumSet.noneOf(dev.mamba.pipeline.model.Output.class));
                be.synchronize();
                times.add((System.nanoTime() - s) / 1e9);
            }
            if (times.size() >= 8) {
                // sustained load (a Spark job runs the forward for minutes): the GPU may lower its clock at its power cap
                int q = times.size() / 4;
                res.put("tokens_per_s_first_quarter", lanes * (double) steps * q
                        / times.subList(0, q).stream().mapToDouble(Double::doubleValue).sum());
                res.put("tokens_per_s_last_quarter", lanes * (double) steps * q
                        / times.subList(times.size() - q, times.size()).stream().mapToDouble(Double::doubleValue).sum());
            }
            times.sort(null);
            double med = times.get(times.size() / 2);
            double tokPerS = lanes * (double) steps / med;
            res.put("forward_s", med);
            res.put("tokens_per_s", tokPerS);
            res.put("gemm_flops_per_token", gemmFlopsPerToken(cfg));
            res.put("forward_gflops", tokPerS * gemmFlopsPerToken(cfg) / 1e9);
            res.put("backend", be.describe());  // again: now it names the kernels that ran
            if (cuda != null) {
                for (String line : cuda.gemmTuning()) {
                    System.out.println(line);
                }
                if (cuda.profiling()) {
                    System.out.println("== per-operator profile over " + repeat + " timed forward calls (" + lanes + " x "
                            + steps + ", " + be.precision().lower() + ")");
                    System.out.print(cuda.profileReport());
                }
            }
        }
        // The four projections alone at M = lanes × steps.
        int mRows = lanes * steps;
        int h = cfg.hiddenSize, d = cfg.intermediateSize, rk = cfg.timeStepRank, n = cfg.stateSize;
        int[][] shapes = {{2 * d, h}, {rk + 2 * n, d}, {d, rk}, {h, d}};
        String[] names = {"in_proj", "x_proj", "dt_proj", "out_proj"};
        double totalFlops = 0, totalTime = 0;
        for (int i = 0; i < shapes.length; i++) {
            int nOut = shapes[i][0], k = shapes[i][1];
            Tensor x = be.allocate("x", mRows, k, be.activationType());
            Tensor wt = be.upload("w", randomArray(nOut * k), nOut, k, be.matrixWeightType());
            Tensor o = be.allocate("o", mRows, nOut, be.activationType());
            try {
                be.write(x, randomArray(mRows * k), 0);
                be.linear(x, wt, null, o, false);
                be.synchronize();
                List<Double> t = new ArrayList<>();
                for (int rep = 0; rep < Math.max(3, repeat); rep++) {
                    long s = System.nanoTime();
                    be.linear(x, wt, null, o, false);
                    be.synchronize();
                    t.add((System.nanoTime() - s) / 1e9);
                }
                t.sort(null);
                double sec = t.get(t.size() / 2), flops = 2.0 * mRows * nOut * k;
                res.put("gemm_" + names[i] + "_gflops", flops / sec / 1e9);
                totalFlops += flops;
                totalTime += sec;
            } finally {
                be.free(x);
                be.free(wt);
                be.free(o);
            }
        }
        double gemmRate = totalFlops / totalTime;
        res.put("gemm_gflops", gemmRate / 1e9);
        res.put("gemm_bound_tokens_per_s", gemmRate / gemmFlopsPerToken(cfg));
        return res;
    }

    /** Uniform values in [-0.1, 0.1) from a xorshift generator (fast: the 64-lane shapes need ~10^9). */
    private static float[] randomArray(int n) {
        float[] a = new float[n];
        long s = 0x9E3779B97F4A7C15L ^ n;
        for (int i = 0; i < n; i++) {
            s ^= s << 13;
            s ^= s >>> 7;
            s ^= s << 17;
            a[i] = ((s >>> 40) / (float) (1L << 24) - 0.5f) * 0.2f;
        }
        return a;
    }

    /**
     * Stand-alone entry (no Spark, no picocli needed on the classpath), for the GPU machine:
     * {@code ForwardBench BACKEND PRECISION LANES STEPS [REPEAT] [OUT.jsonl]}.
     */
    public static void main(String[] args) throws Exception {
        dev.mamba.kernels.BackendChoice choice = dev.mamba.kernels.BackendChoice.parse(args[0], "argument 1");
        dev.mamba.kernels.Precision p = dev.mamba.kernels.Precision.parse(args[1]);
        int lanes = Integer.parseInt(args[2]), steps = Integer.parseInt(args[3]);
        int repeat = args.length > 4 ? Integer.parseInt(args[4]) : 3;
        try (Backend be = dev.mamba.kernels.Backends.open(choice, 0, p, 0)) {
            Map<String, Object> r = run(be, shape130m(24), lanes, steps, repeat);
            r.put("precision", p.lower());
            System.out.print(table(r));
            if (args.length > 5) {
                java.nio.file.Files.writeString(java.nio.file.Path.of(args[5]),
                        new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(r) + "\n",
                        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
            }
        }
    }

    /** A two-column table of the result. */
    public static String table(Map<String, Object> res) {
        StringBuilder sb = new StringBuilder();
        res.forEach((k, v) -> sb.append(String.format(Locale.ROOT, "%-28s %s%n", k,
                v instanceof Double ? String.format(Locale.ROOT, "%,.2f", (Double) v) : v)));
        return sb.toString();
    }
}
