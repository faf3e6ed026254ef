package dev.mamba.pipeline.checkpoint;

import dev.mamba.pipeline.config.ConfigLoader;
import dev.mamba.pipeline.config.MambaConfig;
import dev.mamba.pipeline.config.ModelFamily;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Loads a Mamba-1 model directory ({@code config.json} plus {@code model.safetensors} or a sharded
 * {@code model.safetensors.index.json}) into {@link MambaWeights}, checking every tensor's presence and shape
 * against the config before reading any data.
 *
 * <p>Accepted names, TOKENS family: with prefix {@code backbone.} ({@code MambaForCausalLM} / mamba_ssm's
 * {@code MambaLMHeadModel}: LM head {@code lm_head.weight}, or the embedding itself when tied) or without
 * (bare {@code MambaModel}: no LM head); embedding {@code embeddings.weight} (Hugging Face) or
 * {@code embedding.weight} (mamba_ssm); {@code layers.{i}.norm.weight}, {@code layers.{i}.mixer.*},
 * {@code norm_f.weight}. CONTINUOUS family: {@code backbone.input_proj.{weight,bias}}, the same layers,
 * {@code backbone.norm_f.weight}, {@code head.{weight,bias}}. Any other tensor is an error, except
 * {@code lm_head.weight} when the embeddings are tied (transformers ties it to the embedding at load, so the stored
 * copy is ignored here too; its shape is still checked).
 */
public final class CheckpointLoader {
    private static final int LIST_LIMIT = 8;
    private static final Pattern LAYER = Pattern.compile("^(?:backbone\\.)?layers\\.(\\d+)\\..*");

    private CheckpointLoader() {
    }

    /** Loads {@code modelDir}; every problem is a {@link CheckpointException} naming the file and tensor. */
    public static MambaWeights load(Path modelDir) throws IOException {
        if (!Files.isDirectory(modelDir)) {
            throw new CheckpointException(modelDir + ": not a model directory (expected a directory holding "
                    + ConfigLoader.CONFIG_FILE + " and " + SafeTensorsCheckpoint.SINGLE_FILE + " or "
                    + SafeTensorsCheckpoint.INDEX_FILE + ")");
        }
        Path cfgPath = modelDir.resolve(ConfigLoader.CONFIG_FILE);
        if (!Files.isRegularFile(cfgPath)) {
            throw new CheckpointException(modelDir + ": no " + ConfigLoader.CONFIG_FILE + " (looked for " + cfgPath + ")");
        }
        ConfigLoader.Resolved resolved;
        try {
            resolved = ConfigLoader.loadResolved(cfgPath);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(e.getMessage(), e);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(modelDir + ": no " + ConfigLoader.CONFIG_FILE + " (looked for " + cfgPath + ")", e);
        }
        try (SafeTensorsCheckpoint ck = SafeTensorsCheckpoint.open(modelDir)) {
            return load(resolved, ck);
        }
    }

    /** Binds the tensors of an open checkpoint to a resolved config. */
    public static MambaWeights load(ConfigLoader.Resolved resolved, SafeTensorsCheckpoint ck) throws IOException {
        return new Binder(resolved, ck).bind();
    }

    /** One tensor the config requires: its name, shape, what each dimension comes from, and where it goes. */
    private static final class Expected {
        final String name;
        final long[] shape;
        final String[] why;
        final String missingHint;
        final Consumer<HostTensor> sink;

        Expected(String name, long[] shape, String[] why, String missingHint, Consumer<HostTensor> sink) {
            this.name = name;
            this.shape = shape;
            this.why = why;
            this.missingHint = missingHint;
            this.sink = sink;
        }
    }

    private static final class Binder {
        private final ConfigLoader.Resolved resolved;
        private final SafeTensorsCheckpoint ck;
        private MambaConfig cfg;
        private final List<Expected> expected = new ArrayList<>();
        private final Set<String> harmless = new HashSet<>();
        private HostTensor embeddings;
        private HostTensor inputProjWeight;
        private HostTensor inputProjBias;
        private HostTensor normF;
        private HostTensor lmHead;
        private HostTensor headWeight;
        private HostTensor headBias;
        private boolean tiedHead;

        Binder(ConfigLoader.Resolved resolved, SafeTensorsCheckpoint ck) {
            this.resolved = resolved;
            this.ck = ck;
            this.cfg = resolved.config;
        }

        MambaWeights bind() throws IOException {
            String p;
            if (cfg.family == ModelFamily.TOKENS) {
                boolean prefixed = ck.names().stream().anyMatch(n -> n.startsWith("backbone."));
                p = prefixed ? "backbone." : "";
                String emb = ck.contains(p + "embeddings.weight") || !ck.contains(p + "embedding.weight")
                        ? p + "embeddings.weight" : p + "embedding.weight";
                reconcileVocab(emb);
                String[] vh = {vocabWhy(), "hidden_size " + cfg.hiddenSize};
                long[] vhShape = {cfg.vocabSize, cfg.hiddenSize};
                expect(emb, vhShape, vh, ck.contains(p + "embedding.weight") ? null : "or " + p + "embedding.weight",
                        t -> embeddings = t);
                if (prefixed) {
                    if (cfg.tieWordEmbeddings) {
                        tiedHead = true;
                        if (ck.contains("lm_head.weight")) {
                            // transformers re-ties lm_head to the embedding at load; the stored copy is never used.
                            checkShape(new Expected("lm_head.weight", vhShape, vh, null, t -> { }));
                            harmless.add("lm_head.weight");
                        }
                    } else {
                        expect("lm_head.weight", vhShape, vh, "config has tie_word_embeddings false",
                                t -> lmHead = t);
                    }
                }
            } else {
                p = "backbone.";
                expect(p + "input_proj.weight", new long[] {cfg.hiddenSize, cfg.inputFeatures},
                        new String[] {"hidden_size " + cfg.hiddenSize, "input_features " + cfg.inputFeatures}, null,
                        t -> inputProjWeight = t);
                expect(p + "input_proj.bias", new long[] {cfg.hiddenSize},
                        new String[] {"hidden_size " + cfg.hiddenSize}, null, t -> inputProjBias = t);
            }
            List<MambaWeights.Layer> layers = new ArrayList<>();
            for (int i = 0; i < cfg.numLayers; i++) {
                layers.add(expectLayer(p + "layers." + i + "."));
            }
            expect(p + "norm_f.weight", new long[] {cfg.hiddenSize}, new String[] {"hidden_size " + cfg.hiddenSize},
                    null, t -> normF = t);
            if (cfg.family == ModelFamily.CONTINUOUS) {
                expect("head.weight", new long[] {cfg.outputFeatures, cfg.hiddenSize},
                        new String[] {"output_features " + cfg.outputFeatures, "hidden_size " + cfg.hiddenSize}, null,
                        t -> headWeight = t);
                expect("head.bias", new long[] {cfg.outputFeatures},
                        new String[] {"output_features " + cfg.outputFeatures}, null, t -> headBias = t);
            }
            checkMissing();
            checkExtra();
            List<String> wrong = new ArrayList<>();
            for (Expected e : expected) {
                String msg = shapeError(e);
                if (msg != null) {
                    wrong.add(msg);
                }
            }
            if (!wrong.isEmpty()) {
                throw new CheckpointException(wrong.get(0) + (wrong.size() > 1
                        ? " (and " + (wrong.size() - 1) + " more tensors with wrong shapes)" : ""));
            }
            for (Expected e : expected) {
                e.sink.accept(ck.read(e.name));
            }
            if (tiedHead) {
                lmHead = embeddings;
            }
            return new MambaWeights(cfg, embeddings, inputProjWeight, inputProjBias, layers, normF, lmHead,
                    headWeight, headBias);
        }

        /*
         * pad_vocab_size_multiple: mamba_ssm rounds vocab_size up to a multiple of it before building the embedding,
         * HF stores vocab_size already rounded (and the multiple only for reference). Converted checkpoints mix the
         * two conventions, so the embedding's row count decides, but only when it is one of the two values the config
         * can mean (as written, or rounded up); anything else is a real mismatch and fails the shape check.
         */
        private void reconcileVocab(String embName) throws CheckpointException {
            if (!ck.contains(embName)) {
                return;
            }
            long[] s = ck.info(embName).shape();
            if (s.length == 2 && s[1] == cfg.hiddenSize && s[0] != cfg.vocabSize
                    && (s[0] == resolved.vocabUnpadded || s[0] == resolved.vocabPadded)) {
                cfg = ConfigLoader.withVocabSize(cfg, (int) s[0]);
            }
        }

        private String vocabWhy() {
            if (resolved.padMultiple > 1 && resolved.vocabPadded != resolved.vocabUnpadded) {
                return "vocab_size " + resolved.vocabUnpadded + ", or " + resolved.vocabPadded
                        + " padded to pad_vocab_size_multiple " + resolved.padMultiple;
            }
            return "vocab_size " + cfg.vocabSize;
        }

        private MambaWeights.Layer expectLayer(String lp) {
            MambaWeights.Layer l = new MambaWeights.Layer();
            int h = cfg.hiddenSize;
            int d = cfg.intermediateSize;
            int n = cfg.stateSize;
            int r = cfg.timeStepRank;
            int k = cfg.convKernel;
            String hw = "hidden_size " + h;
            String dw = "intermediate_size " + d;
            String mp = lp + "mixer.";
            expect(lp + "norm.weight", new long[] {h}, new String[] {hw}, null, t -> l.norm = t);
            expect(mp + "in_proj.weight", new long[] {2L * d, h}, new String[] {"2 × intermediate_size " + d, hw}, null,
                    t -> l.inProjWeight = t);
            if (cfg.useBias) {
                expect(mp + "in_proj.bias", new long[] {2L * d}, new String[] {"2 × intermediate_size " + d},
                        "config has use_bias true", t -> l.inProjBias = t);
            }
            expect(mp + "conv1d.weight", new long[] {d, 1, k}, new String[] {dw, "1 (depthwise)", "conv_kernel " + k},
                    null, t -> l.conv1dWeight = t);
            if (cfg.useConvBias) {
                expect(mp + "conv1d.bias", new long[] {d}, new String[] {dw}, "config has use_conv_bias true",
                        t -> l.conv1dBias = t);
            }
            expect(mp + "x_proj.weight", new long[] {r + 2L * n, d},
                    new String[] {"time_step_rank " + r + " + 2 × state_size " + n, dw}, null, t -> l.xProjWeight = t);
            expect(mp + "dt_proj.weight", new long[] {d, r}, new String[] {dw, "time_step_rank " + r}, null,
                    t -> l.dtProjWeight = t);
            expect(mp + "dt_proj.bias", new long[] {d}, new String[] {dw}, null, t -> l.dtProjBias = t);
            expect(mp + "A_log", new long[] {d, n}, new String[] {dw, "state_size " + n}, null, t -> l.aLog = t);
            expect(mp + "D", new long[] {d}, new String[] {dw}, null, t -> l.d = t);
            expect(mp + "out_proj.weight", new long[] {h, d}, new String[] {hw, dw}, null, t -> l.outProjWeight = t);
            if (cfg.useBias) {
                expect(mp + "out_proj.bias", new long[] {h}, new String[] {hw}, "config has use_bias true",
                        t -> l.outProjBias = t);
            }
            return l;
        }

        private void expect(String name, long[] shape, String[] why, String missingHint, Consumer<HostTensor> sink) {
            expected.add(new Expected(name, shape, why, missingHint, sink));
        }

        private void checkMissing() throws CheckpointException {
            List<String> missing = new ArrayList<>();
            for (Expected e : expected) {
                if (!ck.contains(e.name)) {
                    missing.add(e.name + (e.missingHint == null ? "" : " (" + e.missingHint + ")"));
                }
            }
            if (!missing.isEmpty()) {
                throw new CheckpointException(ck.label() + ": missing " + (missing.size() == 1 ? "tensor " : "tensors ")
                        + listSome(missing) + " (" + cfg + ")");
            }
        }

        private void checkExtra() throws CheckpointException {
            Set<String> known = new HashSet<>(harmless);
            for (Expected e : expected) {
                known.add(e.name);
            }
            List<String> extra = new ArrayList<>();
            for (String n : ck.names()) {
                if (!known.contains(n)) {
                    extra.add(n + extraHint(n));
                }
            }
            if (!extra.isEmpty()) {
                throw new CheckpointException(ck.label() + ": unexpected " + (extra.size() == 1 ? "tensor " : "tensors ")
                        + listSome(extra) + " (" + cfg + ")");
            }
        }

        private String extraHint(String n) {
            Matcher m = LAYER.matcher(n);
            if (m.matches() && (m.group(1).length() > 9 || Integer.parseInt(m.group(1)) >= cfg.numLayers)) {
                return " (config has num_hidden_layers " + cfg.numLayers + ")";
            }
            if (!cfg.useBias && (n.endsWith("mixer.in_proj.bias") || n.endsWith("mixer.out_proj.bias"))) {
                return " (config has use_bias false)";
            }
            if (!cfg.useConvBias && n.endsWith("mixer.conv1d.bias")) {
                return " (config has use_conv_bias false)";
            }
            if (n.equals("lm_head.weight") && cfg.family == ModelFamily.TOKENS) {
                return " (tensors without the backbone. prefix are a bare MambaModel, which has no LM head)";
            }
            if (cfg.family == ModelFamily.TOKENS
                    && (n.startsWith("layers.") || n.startsWith("embedding") || n.startsWith("norm_f."))
                    && ck.names().stream().anyMatch(x -> x.startsWith("backbone."))) {
                return " (other tensors have the backbone. prefix)";
            }
            return "";
        }

        private void checkShape(Expected e) throws CheckpointException {
            String msg = shapeError(e);
            if (msg != null) {
                throw new CheckpointException(msg);
            }
        }

        private String shapeError(Expected e) throws CheckpointException {
            long[] actual = ck.info(e.name).shape();
            if (Arrays.equals(actual, e.shape)) {
                return null;
            }
            List<String> why = new ArrayList<>();
            for (int i = 0; i < e.shape.length; i++) {
                // explain only the dimensions that differ, unless the ranks differ
                if (actual.length != e.shape.length || actual[i] != e.shape[i]) {
                    why.add(e.why[i]);
                }
            }
            return ck.fileOf(e.name) + ": tensor " + e.name + " has shape " + Arrays.toString(actual)
                    + ", config implies " + Arrays.toString(e.shape) + " (" + String.join(", ", why) + ")";
        }

        private static String listSome(List<String> names) {
            if (names.size() <= LIST_LIMIT) {
                return String.join(", ", names);
            }
            return String.join(", ", names.subList(0, LIST_LIMIT)) + " and " + (names.size() - LIST_LIMIT) + " more";
        }
    }
}
