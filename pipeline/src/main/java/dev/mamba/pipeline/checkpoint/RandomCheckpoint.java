package dev.mamba.pipeline.checkpoint;

import dev.mamba.pipeline.config.ConfigLoader;
import dev.mamba.pipeline.config.MambaConfig;
import dev.mamba.pipeline.config.ModelFamily;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Seeded random Mamba weights for tests and benchmarks, in memory or written as a model directory. Values are drawn
 * far from initialisation defaults so that a mixed-up tensor shows: A_log in [-1, 2], D in [-2, 2], norm weights in
 * [0.5, 1.5], dt_proj.bias in [-4, 1], biases in [-0.5, 0.5], matrices uniform in ±1/√fan_in. Each tensor has its own
 * generator seeded from (seed, name without the backbone. prefix), so a tensor's values do not depend on the layout,
 * on tying, or on which other tensors exist.
 */
public final class RandomCheckpoint {
    /** Tensor naming of a written TOKENS checkpoint (CONTINUOUS has one naming). */
    public enum Layout {
        /** transformers MambaForCausalLM: backbone.embeddings.weight, lm_head.weight unless tied. */
        HF_CAUSAL_LM,
        /** transformers MambaModel: embeddings.weight and layers without prefix, no LM head. */
        HF_BARE,
        /** mamba_ssm MambaLMHeadModel: backbone.embedding.weight, lm_head.weight unless tied. */
        MAMBA_SSM
    }

    private RandomCheckpoint() {
    }

    /** Random weights of shape {@code cfg}, named in the HF_CAUSAL_LM layout; lmHead is the embedding when tied. */
    public static MambaWeights random(MambaConfig cfg, long seed) {
        int h = cfg.hiddenSize;
        int d = cfg.intermediateSize;
        int n = cfg.stateSize;
        int r = cfg.timeStepRank;
        int k = cfg.convKernel;
        List<Runnable> jobs = new ArrayList<>();
        Gen g = new Gen(seed, jobs);
        boolean tokens = cfg.family == ModelFamily.TOKENS;
        HostTensor emb = tokens ? g.uniform("backbone.embeddings.weight", -1, 1, cfg.vocabSize, h) : null;
        HostTensor inW = tokens ? null : g.fanIn("backbone.input_proj.weight", cfg.inputFeatures, h, cfg.inputFeatures);
        HostTensor inB = tokens ? null : g.uniform("backbone.input_proj.bias", -0.5, 0.5, h);
        List<MambaWeights.Layer> layers = new ArrayList<>();
        for (int i = 0; i < cfg.numLayers; i++) {
            String lp = "backbone.layers." + i + ".";
            String mp = lp + "mixer.";
            MambaWeights.Layer l = new MambaWeights.Layer();
            l.norm = g.uniform(lp + "norm.weight", 0.5, 1.5, h);
            l.inProjWeight = g.fanIn(mp + "in_proj.weight", h, 2L * d, h);
            l.inProjBias = cfg.useBias ? g.uniform(mp + "in_proj.bias", -0.5, 0.5, 2L * d) : null;
            l.conv1dWeight = g.fanIn(mp + "conv1d.weight", k, d, 1, k);
            l.conv1dBias = cfg.useConvBias ? g.uniform(mp + "conv1d.bias", -0.5, 0.5, d) : null;
            l.xProjWeight = g.fanIn(mp + "x_proj.weight", d, r + 2L * n, d);
            l.dtProjWeight = g.fanIn(mp + "dt_proj.weight", r, d, r);
            l.dtProjBias = g.uniform(mp + "dt_proj.bias", -4, 1, d);
            l.aLog = g.uniform(mp + "A_log", -1, 2, d, n);
            l.d = g.uniform(mp + "D", -2, 2, d);
            l.outProjWeight = g.fanIn(mp + "out_proj.weight", d, h, d);
            l.outProjBias = cfg.useBias ? g.uniform(mp + "out_proj.bias", -0.5, 0.5, h) : null;
            layers.add(l);
        }
        HostTensor normF = g.uniform("backbone.norm_f.weight", 0.5, 1.5, h);
        HostTensor lmHead = null;
        if (tokens) {
            lmHead = cfg.tieWordEmbeddings ? emb : g.fanIn("lm_head.weight", h, cfg.vocabSize, h);
        }
        HostTensor headW = tokens ? null : g.fanIn("head.weight", h, cfg.outputFeatures, h);
        HostTensor headB = tokens ? null : g.uniform("head.bias", -0.5, 0.5, cfg.outputFeatures);
        // Tensors are independent (one generator each), so filling them in parallel keeps results deterministic.
        IntStream.range(0, jobs.size()).parallel().forEach(i -> jobs.get(i).run());
        return new MambaWeights(cfg, emb, inW, inB, layers, normF, lmHead, headW, headB);
    }

    /** The tensors of {@code w} keyed by their names in {@code layout}, in a fixed order (as written to disk). */
    public static Map<String, HostTensor> tensors(MambaWeights w, Layout layout) {
        MambaConfig cfg = w.config;
        Map<String, HostTensor> m = new LinkedHashMap<>();
        boolean tokens = cfg.family == ModelFamily.TOKENS;
        String p = tokens && layout == Layout.HF_BARE ? "" : "backbone.";
        if (tokens) {
            m.put(p + (layout == Layout.MAMBA_SSM ? "embedding.weight" : "embeddings.weight"), w.embeddings);
        } else {
            m.put(p + "input_proj.weight", w.inputProjWeight);
            m.put(p + "input_proj.bias", w.inputProjBias);
        }
        for (int i = 0; i < w.layers.size(); i++) {
            MambaWeights.Layer l = w.layers.get(i);
            String lp = p + "layers." + i + ".";
            String mp = lp + "mixer.";
            m.put(lp + "norm.weight", l.norm);
            m.put(mp + "in_proj.weight", l.inProjWeight);
            putIf(m, mp + "in_proj.bias", l.inProjBias);
            m.put(mp + "conv1d.weight", l.conv1dWeight);
            putIf(m, mp + "conv1d.bias", l.conv1dBias);
            m.put(mp + "x_proj.weight", l.xProjWeight);
            m.put(mp + "dt_proj.weight", l.dtProjWeight);
            m.put(mp + "dt_proj.bias", l.dtProjBias);
            m.put(mp + "A_log", l.aLog);
            m.put(mp + "D", l.d);
            m.put(mp + "out_proj.weight", l.outProjWeight);
            putIf(m, mp + "out_proj.bias", l.outProjBias);
        }
        m.put(p + "norm_f.weight", w.normF);
        if (tokens) {
            // a tied head is the embedding itself: save_pretrained drops the duplicate, so do we
            if (layout != Layout.HF_BARE && w.lmHead != null && w.lmHead != w.embeddings) {
                m.put("lm_head.weight", w.lmHead);
            }
        } else {
            m.put("head.weight", w.headWeight);
            m.put("head.bias", w.headBias);
        }
        return m;
    }

    private static void putIf(Map<String, HostTensor> m, String name, HostTensor t) {
        if (t != null) {
            m.put(name, t);
        }
    }

    /**
     * Writes random weights for {@code cfg} (tied or not, overriding the config) to {@code dir} as an HF
     * MambaForCausalLM directory: config.json plus model.safetensors stored as {@code dtype} ("F32", "BF16", "F16").
     * Returns {@code dir}.
     */
    public static Path writeRandom(Path dir, MambaConfig cfg, long seed, boolean tied, String dtype) throws IOException {
        MambaConfig c = cfg.family == ModelFamily.TOKENS ? ConfigLoader.withTiedEmbeddings(cfg, tied) : cfg;
        return write(dir, random(c, seed), Layout.HF_CAUSAL_LM, SafeTensorsDType.floatType(dtype));
    }

    /** Writes {@code w} to {@code dir} (created if needed) as config.json (HF names) plus model.safetensors. */
    public static Path write(Path dir, MambaWeights w, Layout layout, SafeTensorsDType dtype) throws IOException {
        Files.createDirectories(dir);
        ConfigLoader.write(dir.resolve(ConfigLoader.CONFIG_FILE), w.config);
        SafeTensorsWriter.write(dir.resolve(SafeTensorsCheckpoint.SINGLE_FILE), tensors(w, layout), dtype);
        return dir;
    }

    /** Allocates tensors now and queues their filling. */
    private static final class Gen {
        private final long seed;
        private final List<Runnable> jobs;

        Gen(long seed, List<Runnable> jobs) {
            this.seed = seed;
            this.jobs = jobs;
        }

        HostTensor fanIn(String name, long fanIn, long... shape) {
            double a = 1.0 / Math.sqrt(fanIn);
            return uniform(name, -a, a, shape);
        }

        HostTensor uniform(String name, double lo, double hi, long... shape) {
            long numel = 1;
            for (long s : shape) {
                numel = Math.multiplyExact(numel, s);
            }
            if (numel > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("tensor " + name + " too large for one array: " + numel);
            }
            float[] data = new float[(int) numel];
            String key = name.startsWith("backbone.") ? name.substring("backbone.".length()) : name;
            long s = seed * 0x9E3779B97F4A7C15L + fnv1a(key);
            jobs.add(() -> {
                SplittableRandom rnd = new SplittableRandom(s);
                for (int i = 0; i < data.length; i++) {
                    data[i] = (float) (lo + (hi - lo) * rnd.nextDouble());
                }
            });
            return new HostTensor(name, shape, data);
        }

        private static long fnv1a(String s) {
            long h = 0xcbf29ce484222325L;
            for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
                h ^= b & 0xff;
                h *= 0x100000001b3L;
            }
            return h;
        }
    }
}
