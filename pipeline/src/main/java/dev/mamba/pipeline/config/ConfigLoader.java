package dev.mamba.pipeline.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads a Mamba-1 {@code config.json} into a {@link MambaConfig}.
 *
 * <p>Three dialects are accepted:
 * <ul>
 * <li>Hugging Face {@code MambaConfig} ({@code "model_type": "mamba"}): {@code hidden_size}, {@code num_hidden_layers},
 * {@code vocab_size}, {@code state_size} (default 16), {@code conv_kernel} (4), {@code expand} (2),
 * {@code intermediate_size} (expand × hidden), {@code time_step_rank} (integer or "auto" = ⌈hidden / 16⌉; default
 * "auto"), {@code use_conv_bias} (true), {@code use_bias} (false), {@code layer_norm_epsilon} (1e-5),
 * {@code residual_in_fp32} (true), {@code tie_word_embeddings} (true). {@code vocab_size} is already the embedding
 * row count there, so {@code pad_vocab_size_multiple} is not applied.</li>
 * <li>original {@code mamba_ssm} (no {@code hidden_size}, but {@code d_model} / {@code n_layer}): {@code d_model},
 * {@code n_layer}, {@code vocab_size}, {@code ssm_cfg} {d_state, d_conv, expand, dt_rank, conv_bias, bias},
 * {@code rms_norm}, {@code residual_in_fp32}, {@code fused_add_norm} (ignored: a kernel choice),
 * {@code tie_embeddings}, {@code pad_vocab_size_multiple} (default 8, as in mamba_ssm): vocab_size is rounded up to
 * a multiple of it.</li>
 * <li>our continuous-input family, {@code "model_type": "mamba_continuous"}: the Hugging Face keys above (no
 * {@code vocab_size}, no tying) plus {@code input_features} (k, features per step, read through
 * {@code backbone.input_proj} [hidden, k] + bias) and {@code output_features} (outputs per step, from {@code head}
 * [output_features, hidden] + bias).</li>
 * </ul>
 * When a file carries both spellings of a quantity (converted checkpoints carry {@code d_model} next to
 * {@code hidden_size}), they must agree. Unknown keys are ignored; a wrong JSON type, a non-positive size, another
 * {@code model_type} (e.g. "mamba2"), LayerNorm ({@code rms_norm: false}), MLP or attention blocks are errors
 * (IllegalArgumentException) that name the file and the key.
 */
public final class ConfigLoader {
    /** The config file name in a model directory. */
    public static final String CONFIG_FILE = "config.json";
    /** model_type of Hugging Face Mamba-1 checkpoints. */
    public static final String MODEL_TYPE_MAMBA = "mamba";
    /** model_type of the continuous-input family. */
    public static final String MODEL_TYPE_CONTINUOUS = "mamba_continuous";

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    /** A parsed config plus what the checkpoint loader needs to reconcile it with the tensors. */
    public static final class Resolved {
        /** The config, vocab rounded per the dialect (see {@link ConfigLoader}). */
        public final MambaConfig config;
        /** vocab_size as written (0 for CONTINUOUS). */
        public final int vocabUnpadded;
        /** vocab_size rounded up to pad_vocab_size_multiple (equals vocabUnpadded when there is none). */
        public final int vocabPadded;
        /** pad_vocab_size_multiple in effect (1 when none). */
        public final int padMultiple;
        /** Whether the config uses mamba_ssm names (d_model / n_layer, no hidden_size). */
        public final boolean mambaSsmNames;

        Resolved(MambaConfig config, int vocabUnpadded, int vocabPadded, int padMultiple, boolean mambaSsmNames) {
            this.config = config;
            this.vocabUnpadded = vocabUnpadded;
            this.vocabPadded = vocabPadded;
            this.padMultiple = padMultiple;
            this.mambaSsmNames = mambaSsmNames;
        }
    }

    private ConfigLoader() {
    }

    /** Reads and parses {@code configJson}; content errors are IllegalArgumentExceptions naming the file and key. */
    public static MambaConfig load(Path configJson) throws IOException {
        return loadResolved(configJson).config;
    }

    /** Like {@link #load}, keeping the vocabulary padding details. */
    public static Resolved loadResolved(Path configJson) throws IOException {
        String source = configJson.getFileName() == null ? configJson.toString() : configJson.getFileName().toString();
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(configJson);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(configJson.toString(), null, "config file not found");
        }
        JsonNode root;
        try {
            root = JSON.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(source + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        return resolve(root, source);
    }

    /** Parses a config.json tree; {@code sourceName} prefixes every error message. */
    public static MambaConfig parse(JsonNode root, String sourceName) {
        return resolve(root, sourceName).config;
    }

    /** Like {@link #parse}, keeping the vocabulary padding details. */
    public static Resolved resolve(JsonNode root, String sourceName) {
        Keys k = new Keys(root, sourceName);
        if (root == null || !root.isObject()) {
            throw k.error("must be a JSON object");
        }
        String modelType = k.text("model_type", null);
        ModelFamily family;
        if (modelType == null || modelType.equals(MODEL_TYPE_MAMBA)) {
            family = ModelFamily.TOKENS;
        } else if (modelType.equals(MODEL_TYPE_CONTINUOUS)) {
            family = ModelFamily.CONTINUOUS;
        } else {
            throw k.error("model_type \"" + modelType + "\" is not supported; this loader reads Mamba-1 models "
                    + "(model_type \"" + MODEL_TYPE_MAMBA + "\", or \"" + MODEL_TYPE_CONTINUOUS
                    + "\" for continuous inputs)");
        }
        boolean ssmNames = !root.has("hidden_size") && (root.has("d_model") || root.has("n_layer"));

        JsonNode ssmCfg = root.get("ssm_cfg");
        if (ssmCfg != null && !ssmCfg.isNull() && !ssmCfg.isObject()) {
            throw k.error("key ssm_cfg must be a JSON object, found " + describe(ssmCfg));
        }
        Keys s = new Keys(ssmCfg != null && ssmCfg.isObject() ? ssmCfg : JSON.createObjectNode(), sourceName, "ssm_cfg.");
        String layer = s.text("layer", "Mamba1");
        if (!layer.equals("Mamba1")) {
            throw s.error("key ssm_cfg.layer is \"" + layer + "\"; only Mamba1 blocks are supported");
        }
        if (!k.bool("rms_norm", true)) {
            throw k.error("key rms_norm is false (LayerNorm); only RMSNorm models are supported");
        }
        String act = k.text("hidden_act", "silu");
        if (!act.equals("silu")) {
            throw k.error("key hidden_act is \"" + act + "\"; Mamba-1 uses silu");
        }
        if (k.positiveIntOrZero("d_intermediate", 0) != 0) {
            throw k.error("key d_intermediate is " + root.get("d_intermediate")
                    + ": MLP blocks after the mixer are not supported (Mamba-1 has none)");
        }
        JsonNode attn = root.get("attn_layer_idx");
        if (attn != null && !(attn.isArray() && attn.isEmpty()) && !attn.isNull()) {
            throw k.error("key attn_layer_idx is " + attn + ": attention layers are not supported");
        }

        int hidden = k.either("hidden_size", "d_model", -1);
        if (hidden < 0) {
            throw k.error("missing key hidden_size (or d_model)");
        }
        int layers = k.either("num_hidden_layers", "n_layer", -1);
        if (layers < 0) {
            throw k.error("missing key num_hidden_layers (or n_layer)");
        }
        int state = k.orNested("state_size", s, "d_state", 16);
        int conv = k.orNested("conv_kernel", s, "d_conv", 4);
        int expand = k.orNested("expand", s, "expand", 2);
        long defaultInner = (long) expand * hidden;
        int inner = k.either("intermediate_size", "d_inner", -1);
        if (inner < 0) {
            if (defaultInner > Integer.MAX_VALUE) {
                throw k.error("expand " + expand + " × hidden_size " + hidden + " is too large");
            }
            inner = (int) defaultInner;
        }
        int autoRank = (hidden + 15) / 16;
        int rank = k.has("time_step_rank") ? k.rank("time_step_rank", autoRank) : s.rank("dt_rank", autoRank);
        if (k.has("time_step_rank") && s.has("dt_rank") && s.rank("dt_rank", autoRank) != rank) {
            throw k.error("keys time_step_rank and ssm_cfg.dt_rank disagree");
        }
        boolean convBias = k.boolOrNested("use_conv_bias", s, "conv_bias", true);
        boolean bias = k.boolOrNested("use_bias", s, "bias", false);
        float eps = k.has("layer_norm_epsilon") ? k.positiveFloat("layer_norm_epsilon") : k.has("norm_epsilon")
                ? k.positiveFloat("norm_epsilon") : 1e-5f;
        boolean residualFp32 = k.bool("residual_in_fp32", true);

        int vocab = 0;
        int padded = 0;
        int multiple = 1;
        boolean tied = false;
        int inFeatures = 0;
        int outFeatures = 0;
        if (family == ModelFamily.TOKENS) {
            vocab = k.positiveInt("vocab_size", -1);
            if (vocab < 0) {
                throw k.error("missing key vocab_size");
            }
            // mamba_ssm defaults pad_vocab_size_multiple to 8; HF stores it only for reference.
            multiple = k.positiveInt("pad_vocab_size_multiple", ssmNames ? 8 : 1);
            long p = ((long) vocab + multiple - 1) / multiple * multiple;
            if (p > Integer.MAX_VALUE) {
                throw k.error("vocab_size " + vocab + " padded to a multiple of " + multiple + " is too large");
            }
            padded = (int) p;
            tied = k.has("tie_word_embeddings") ? k.bool("tie_word_embeddings", true) : k.bool("tie_embeddings", true);
        } else {
            inFeatures = k.positiveInt("input_features", -1);
            if (inFeatures < 0) {
                throw k.error("missing key input_features (model_type " + MODEL_TYPE_CONTINUOUS + ")");
            }
            outFeatures = k.positiveInt("output_features", -1);
            if (outFeatures < 0) {
                throw k.error("missing key output_features (model_type " + MODEL_TYPE_CONTINUOUS + ")");
            }
        }
        MambaConfig cfg;
        try {
            cfg = new MambaConfig(family, hidden, layers, ssmNames ? padded : vocab, state, conv, inner, rank,
                    convBias, bias, eps, residualFp32, tied, inFeatures, outFeatures);
        } catch (IllegalArgumentException e) {
            throw k.error(e.getMessage());
        }
        return new Resolved(cfg, vocab, padded, multiple, ssmNames);
    }

    /** {@code cfg} with a different vocabulary size (the embedding table's row count). */
    public static MambaConfig withVocabSize(MambaConfig cfg, int vocabSize) {
        return new MambaConfig(cfg.family, cfg.hiddenSize, cfg.numLayers, vocabSize, cfg.stateSize, cfg.convKernel,
                cfg.intermediateSize, cfg.timeStepRank, cfg.useConvBias, cfg.useBias, cfg.layerNormEpsilon,
                cfg.residualInFp32, cfg.tieWordEmbeddings, cfg.inputFeatures, cfg.outputFeatures);
    }

    /** {@code cfg} with tied or untied word embeddings. */
    public static MambaConfig withTiedEmbeddings(MambaConfig cfg, boolean tied) {
        return new MambaConfig(cfg.family, cfg.hiddenSize, cfg.numLayers, cfg.vocabSize, cfg.stateSize, cfg.convKernel,
                cfg.intermediateSize, cfg.timeStepRank, cfg.useConvBias, cfg.useBias, cfg.layerNormEpsilon,
                cfg.residualInFp32, tied, cfg.inputFeatures, cfg.outputFeatures);
    }

    /** A Hugging Face style config.json tree for {@code cfg} (model_type "mamba" or "mamba_continuous"). */
    public static ObjectNode toJson(MambaConfig cfg) {
        ObjectNode o = JSON.createObjectNode();
        boolean tokens = cfg.family == ModelFamily.TOKENS;
        o.putArray("architectures").add(tokens ? "MambaForCausalLM" : "MambaContinuous");
        o.put("model_type", tokens ? MODEL_TYPE_MAMBA : MODEL_TYPE_CONTINUOUS);
        o.put("hidden_size", cfg.hiddenSize);
        o.put("num_hidden_layers", cfg.numLayers);
        if (tokens) {
            o.put("vocab_size", cfg.vocabSize);
        } else {
            o.put("input_features", cfg.inputFeatures);
            o.put("output_features", cfg.outputFeatures);
        }
        o.put("state_size", cfg.stateSize);
        o.put("conv_kernel", cfg.convKernel);
        if (cfg.intermediateSize % cfg.hiddenSize == 0) {
            o.put("expand", cfg.intermediateSize / cfg.hiddenSize);
        }
        o.put("intermediate_size", cfg.intermediateSize);
        o.put("time_step_rank", cfg.timeStepRank);
        o.put("use_conv_bias", cfg.useConvBias);
        o.put("use_bias", cfg.useBias);
        // via Float.toString so that 1e-5f is written as 1.0E-5, not 9.999999747378752E-6
        o.put("layer_norm_epsilon", Double.parseDouble(Float.toString(cfg.layerNormEpsilon)));
        o.put("residual_in_fp32", cfg.residualInFp32);
        if (tokens) {
            o.put("tie_word_embeddings", cfg.tieWordEmbeddings);
        }
        o.put("hidden_act", "silu");
        return o;
    }

    /** Writes {@link #toJson} of {@code cfg} to {@code file}, pretty-printed. */
    public static void write(Path file, MambaConfig cfg) throws IOException {
        Files.write(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(toJson(cfg)));
    }

    static String describe(JsonNode v) {
        if (v.isTextual()) {
            return v.toString() + " (a string)";
        }
        if (v.isBoolean()) {
            return v + " (a boolean)";
        }
        if (v.isArray()) {
            return v + " (an array)";
        }
        if (v.isObject()) {
            return v + " (an object)";
        }
        if (v.isNull()) {
            return "null";
        }
        return v.toString();
    }

    /** Typed access to one JSON object's keys, with errors naming the source and the (possibly nested) key. */
    private static final class Keys {
        private final JsonNode node;
        private final String source;
        private final String prefix;

        Keys(JsonNode node, String source) {
            this(node, source, "");
        }

        Keys(JsonNode node, String source, String prefix) {
            this.node = node;
            this.source = source;
            this.prefix = prefix;
        }

        IllegalArgumentException error(String msg) {
            return new IllegalArgumentException(source + ": " + msg);
        }

        boolean has(String key) {
            JsonNode v = node.get(key);
            return v != null && !v.isNull();
        }

        String text(String key, String dflt) {
            if (!has(key)) {
                return dflt;
            }
            JsonNode v = node.get(key);
            if (!v.isTextual()) {
                throw error("key " + prefix + key + " must be a string, found " + describe(v));
            }
            return v.asText();
        }

        boolean bool(String key, boolean dflt) {
            if (!has(key)) {
                return dflt;
            }
            JsonNode v = node.get(key);
            if (!v.isBoolean()) {
                throw error("key " + prefix + key + " must be true or false, found " + describe(v));
            }
            return v.asBoolean();
        }

        int positiveInt(String key, int dflt) {
            if (!has(key)) {
                return dflt;
            }
            int n = integer(key);
            if (n <= 0) {
                throw error("key " + prefix + key + " must be a positive integer, found " + n);
            }
            return n;
        }

        int positiveIntOrZero(String key, int dflt) {
            if (!has(key)) {
                return dflt;
            }
            int n = integer(key);
            if (n < 0) {
                throw error("key " + prefix + key + " must be a non-negative integer, found " + n);
            }
            return n;
        }

        private int integer(String key) {
            JsonNode v = node.get(key);
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw error("key " + prefix + key + " must be a positive integer, found " + describe(v));
            }
            return v.asInt();
        }

        /** HF key {@code key} or its mamba_ssm synonym {@code alt} (both must agree when both are present). */
        int either(String key, String alt, int dflt) {
            int a = positiveInt(key, -1);
            int b = positiveInt(alt, -1);
            if (a > 0 && b > 0 && a != b) {
                throw error("keys " + prefix + key + " (" + a + ") and " + prefix + alt + " (" + b + ") disagree");
            }
            return a > 0 ? a : b > 0 ? b : dflt;
        }

        /** HF key {@code key}, or else {@code nestedKey} of ssm_cfg. */
        int orNested(String key, Keys nested, String nestedKey, int dflt) {
            int a = positiveInt(key, -1);
            int b = nested.positiveInt(nestedKey, -1);
            if (a > 0 && b > 0 && a != b) {
                throw error("keys " + key + " (" + a + ") and ssm_cfg." + nestedKey + " (" + b + ") disagree");
            }
            return a > 0 ? a : b > 0 ? b : dflt;
        }

        boolean boolOrNested(String key, Keys nested, String nestedKey, boolean dflt) {
            if (has(key)) {
                return bool(key, dflt);
            }
            return nested.bool(nestedKey, dflt);
        }

        int rank(String key, int auto) {
            if (!has(key)) {
                return auto;
            }
            JsonNode v = node.get(key);
            if (v.isTextual() && v.asText().equals("auto")) {
                return auto;
            }
            if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() <= 0) {
                throw error("key " + prefix + key + " must be a positive integer or \"auto\", found " + describe(v));
            }
            return v.asInt();
        }

        float positiveFloat(String key) {
            JsonNode v = node.get(key);
            if (!v.isNumber() || !(v.asDouble() > 0) || Double.isInfinite(v.asDouble())) {
                throw error("key " + prefix + key + " must be a positive number, found " + describe(v));
            }
            return (float) v.asDouble();
        }
    }
}
