package dev.mamba.pipeline.checkpoint;

import dev.mamba.pipeline.config.ConfigLoader;
import dev.mamba.pipeline.config.MambaConfig;
import dev.mamba.pipeline.config.ModelFamily;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointLoaderTest {
    @TempDir
    Path tmp;

    // ---- helpers -------------------------------------------------------------------------------------------

    private static void assertTensor(HostTensor want, HostTensor got, SafeTensorsDType dt, String what) {
        if (want == null) {
            assertNull(got, what);
            return;
        }
        assertArrayEquals(want.shape, got.shape, what + " shape");
        assertEquals(want.data.length, got.data.length, what);
        for (int i = 0; i < want.data.length; i++) {
            if (dt.round(want.data[i]) != got.data[i]) {
                throw new AssertionError(what + "[" + i + "]: want " + dt.round(want.data[i]) + " got " + got.data[i]);
            }
        }
    }

    /** Field by field, so a name mix-up in the loader (or the fixture writer) shows. */
    private static void assertSameWeights(MambaWeights want, MambaWeights got, SafeTensorsDType dt) {
        assertEquals(want.config.toString(), got.config.toString());
        assertTensor(want.embeddings, got.embeddings, dt, "embeddings");
        assertTensor(want.inputProjWeight, got.inputProjWeight, dt, "input_proj.weight");
        assertTensor(want.inputProjBias, got.inputProjBias, dt, "input_proj.bias");
        assertEquals(want.layers.size(), got.layers.size());
        for (int i = 0; i < want.layers.size(); i++) {
            MambaWeights.Layer a = want.layers.get(i);
            MambaWeights.Layer b = got.layers.get(i);
            String p = "layer " + i + " ";
            assertTensor(a.norm, b.norm, dt, p + "norm");
            assertTensor(a.inProjWeight, b.inProjWeight, dt, p + "in_proj.weight");
            assertTensor(a.inProjBias, b.inProjBias, dt, p + "in_proj.bias");
            assertTensor(a.conv1dWeight, b.conv1dWeight, dt, p + "conv1d.weight");
            assertTensor(a.conv1dBias, b.conv1dBias, dt, p + "conv1d.bias");
            assertTensor(a.xProjWeight, b.xProjWeight, dt, p + "x_proj.weight");
            assertTensor(a.dtProjWeight, b.dtProjWeight, dt, p + "dt_proj.weight");
            assertTensor(a.dtProjBias, b.dtProjBias, dt, p + "dt_proj.bias");
            assertTensor(a.aLog, b.aLog, dt, p + "A_log");
            assertTensor(a.d, b.d, dt, p + "D");
            assertTensor(a.outProjWeight, b.outProjWeight, dt, p + "out_proj.weight");
            assertTensor(a.outProjBias, b.outProjBias, dt, p + "out_proj.bias");
        }
        assertTensor(want.normF, got.normF, dt, "norm_f");
        assertTensor(want.lmHead, got.lmHead, dt, "lm_head");
        assertTensor(want.headWeight, got.headWeight, dt, "head.weight");
        assertTensor(want.headBias, got.headBias, dt, "head.bias");
    }

    private Path dir(String name) throws IOException {
        return Files.createDirectories(tmp.resolve(name));
    }

    /** Writes config.json for {@code cfg} and {@code tensors} as model.safetensors (F32). */
    private static Path write(Path dir, MambaConfig cfg, Map<String, HostTensor> tensors) throws IOException {
        ConfigLoader.write(dir.resolve("config.json"), cfg);
        SafeTensorsWriter.write(dir.resolve("model.safetensors"), tensors);
        return dir;
    }

    private static String loadError(Path dir) {
        return assertThrows(CheckpointException.class, () -> CheckpointLoader.load(dir)).getMessage();
    }

    private static void assertContains(String message, String... parts) {
        for (String p : parts) {
            assertTrue(message.contains(p), "expected \"" + p + "\" in: " + message);
        }
    }

    private static HostTensor zeros(String name, long... shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return new HostTensor(name, shape, new float[(int) n]);
    }

    // ---- layouts that load -----------------------------------------------------------------------------------

    @Test
    void huggingFaceTied() throws Exception {
        MambaConfig cfg = TestCheckpoints.tiny();
        Path d = TestCheckpoints.writeRandom(dir("tied"), cfg, 42, true, "F32");
        MambaWeights w = CheckpointLoader.load(d);
        assertSameWeights(RandomCheckpoint.random(cfg, 42), w, SafeTensorsDType.F32);
        assertSame(w.embeddings, w.lmHead, "tied head is the embedding itself, not a copy");
        assertEquals("backbone.layers.1.mixer.A_log", w.layers.get(1).aLog.name);
        assertArrayEquals(new long[] {32, 1, 4}, w.layers.get(0).conv1dWeight.shape);
        assertArrayEquals(new long[] {3 + 8, 32}, w.layers.get(0).xProjWeight.shape);
    }

    @Test
    void huggingFaceUntied() throws Exception {
        MambaConfig cfg = ConfigLoader.withTiedEmbeddings(TestCheckpoints.tiny(), false);
        Path d = TestCheckpoints.writeRandom(dir("untied"), cfg, 7, false, "F32");
        MambaWeights w = CheckpointLoader.load(d);
        MambaWeights want = RandomCheckpoint.random(cfg, 7);
        assertSameWeights(want, w, SafeTensorsDType.F32);
        assertNotSame(w.embeddings, w.lmHead);
        assertEquals("lm_head.weight", w.lmHead.name);
        // the embedding does not depend on tying
        assertTensor(RandomCheckpoint.random(TestCheckpoints.tiny(), 7).embeddings, w.embeddings,
                SafeTensorsDType.F32, "embeddings");
    }

    @Test
    void tiedWithAStoredLmHeadCopy() throws Exception {
        MambaConfig cfg = TestCheckpoints.tiny();
        MambaWeights want = RandomCheckpoint.random(cfg, 3);
        Map<String, HostTensor> t = new LinkedHashMap<>(RandomCheckpoint.tensors(want, RandomCheckpoint.Layout.HF_CAUSAL_LM));
        t.put("lm_head.weight", want.embeddings);
        MambaWeights w = CheckpointLoader.load(write(dir("copy"), cfg, t));
        assertSameWeights(want, w, SafeTensorsDType.F32);
        assertSame(w.embeddings, w.lmHead);
        // its shape is still checked
        t.put("lm_head.weight", zeros("lm_head.weight", 36, 16));
        assertEquals("model.safetensors: tensor lm_head.weight has shape [36, 16], config implies [37, 16] (vocab_size 37)",
                loadError(write(dir("copy2"), cfg, t)));
    }

    @Test
    void bareMambaModel() throws Exception {
        MambaConfig cfg = TestCheckpoints.tiny();
        MambaWeights want = RandomCheckpoint.random(cfg, 5);
        Path d = RandomCheckpoint.write(dir("bare"), want, RandomCheckpoint.Layout.HF_BARE, SafeTensorsDType.F32);
        try (SafeTensorsReader r = SafeTensorsReader.open(d.resolve("model.safetensors"))) {
            assertTrue(r.contains("embeddings.weight") && r.contains("layers.0.mixer.D") && r.contains("norm_f.weight"));
        }
        MambaWeights w = CheckpointLoader.load(d);
        assertNull(w.lmHead, "a bare MambaModel has no LM head");
        assertTensor(want.embeddings, w.embeddings, SafeTensorsDType.F32, "embeddings");
        assertTensor(want.layers.get(1).outProjWeight, w.layers.get(1).outProjWeight, SafeTensorsDType.F32, "out_proj");
        assertTensor(want.normF, w.normF, SafeTensorsDType.F32, "norm_f");
    }

    @Test
    void mambaSsmConfigAndNames() throws Exception {
        // vocab_size 37 with pad_vocab_size_multiple 8: the embedding has 40 rows (mamba_ssm semantics)
        String json = "{\"d_model\": 16, \"n_layer\": 2, \"vocab_size\": 37, \"ssm_cfg\": {\"d_state\": 4, \"dt_rank\": 3},"
                + " \"rms_norm\": true, \"residual_in_fp32\": true, \"fused_add_norm\": true,"
                + " \"pad_vocab_size_multiple\": 8, \"tie_embeddings\": %s}";
        for (boolean tied : new boolean[] {true, false}) {
            MambaConfig cfg = TestCheckpoints.tokens(16, 2, 40, 4, 4, 32, 3, true, false, tied);
            MambaWeights want = RandomCheckpoint.random(cfg, 11);
            Path d = dir("ssm" + tied);
            SafeTensorsWriter.write(d.resolve("model.safetensors"),
                    RandomCheckpoint.tensors(want, RandomCheckpoint.Layout.MAMBA_SSM));
            Files.writeString(d.resolve("config.json"), String.format(json, tied));
            MambaWeights w = CheckpointLoader.load(d);
            assertSameWeights(want, w, SafeTensorsDType.F32);
            assertEquals(40, w.config.vocabSize);
            assertEquals("backbone.embedding.weight", w.embeddings.name);
            if (tied) {
                assertSame(w.embeddings, w.lmHead);
            }
        }
        // lenient: an unpadded embedding (37 rows) is what the config says before rounding, so it is accepted
        MambaConfig c37 = TestCheckpoints.tokens(16, 2, 37, 4, 4, 32, 3, true, false, true);
        Path d = dir("ssm37");
        SafeTensorsWriter.write(d.resolve("model.safetensors"),
                RandomCheckpoint.tensors(RandomCheckpoint.random(c37, 1), RandomCheckpoint.Layout.MAMBA_SSM));
        Files.writeString(d.resolve("config.json"), String.format(json, true));
        assertEquals(37, CheckpointLoader.load(d).config.vocabSize);
        // but not any other row count
        MambaConfig c39 = TestCheckpoints.tokens(16, 2, 39, 4, 4, 32, 3, true, false, true);
        SafeTensorsWriter.write(d.resolve("model.safetensors"),
                RandomCheckpoint.tensors(RandomCheckpoint.random(c39, 1), RandomCheckpoint.Layout.MAMBA_SSM));
        assertEquals("model.safetensors: tensor backbone.embedding.weight has shape [39, 16], config implies [40, 16] "
                + "(vocab_size 37, or 40 padded to pad_vocab_size_multiple 8)", loadError(d));
    }

    @Test
    void huggingFaceConfigWithPadMultipleAcceptsAPaddedEmbedding() throws Exception {
        MambaConfig c40 = TestCheckpoints.tokens(16, 2, 40, 4, 4, 32, 3, true, false, true);
        Path d = RandomCheckpoint.write(dir("hfpad"), RandomCheckpoint.random(c40, 2),
                RandomCheckpoint.Layout.HF_CAUSAL_LM, SafeTensorsDType.F32);
        Files.writeString(d.resolve("config.json"), "{\"model_type\": \"mamba\", \"hidden_size\": 16, "
                + "\"num_hidden_layers\": 2, \"vocab_size\": 37, \"pad_vocab_size_multiple\": 8, \"state_size\": 4, "
                + "\"time_step_rank\": 3}");
        assertEquals(40, CheckpointLoader.load(d).config.vocabSize);
    }

    @Test
    void continuousFamily() throws Exception {
        MambaConfig cfg = TestCheckpoints.tinyContinuous();
        Path d = TestCheckpoints.writeRandom(dir("cont"), cfg, 9, false, "F32");
        MambaWeights w = CheckpointLoader.load(d);
        assertSameWeights(RandomCheckpoint.random(cfg, 9), w, SafeTensorsDType.F32);
        assertNull(w.embeddings);
        assertNull(w.lmHead);
        assertArrayEquals(new long[] {16, 3}, w.inputProjWeight.shape);
        assertArrayEquals(new long[] {2, 16}, w.headWeight.shape);
        assertEquals("backbone.input_proj.weight", w.inputProjWeight.name);
        assertEquals("head.bias", w.headBias.name);

        Map<String, HostTensor> t = new LinkedHashMap<>(RandomCheckpoint.tensors(RandomCheckpoint.random(cfg, 9),
                RandomCheckpoint.Layout.HF_CAUSAL_LM));
        t.put("head.weight", zeros("head.weight", 2, 15));
        assertEquals("model.safetensors: tensor head.weight has shape [2, 15], config implies [2, 16] (hidden_size 16)",
                loadError(write(dir("cont2"), cfg, t)));
        t.remove("head.weight");
        t.remove("backbone.input_proj.bias");
        assertContains(loadError(write(dir("cont3"), cfg, t)),
                "model.safetensors: missing tensors backbone.input_proj.bias, head.weight (");
    }

    @Test
    void biasVariants() throws Exception {
        MambaConfig cfg = TestCheckpoints.tokens(16, 3, 20, 4, 3, 24, 2, false, true, false);
        Path d = TestCheckpoints.writeRandom(dir("bias"), cfg, 13, false, "F32");
        MambaWeights w = CheckpointLoader.load(d);
        assertSameWeights(RandomCheckpoint.random(cfg, 13), w, SafeTensorsDType.F32);
        assertNull(w.layers.get(0).conv1dBias);
        assertArrayEquals(new long[] {48}, w.layers.get(2).inProjBias.shape);
        assertArrayEquals(new long[] {16}, w.layers.get(2).outProjBias.shape);
    }

    @Test
    void halfPrecisionCheckpoints() throws Exception {
        for (String dt : new String[] {"BF16", "F16"}) {
            MambaConfig cfg = ConfigLoader.withTiedEmbeddings(TestCheckpoints.tiny(), false);
            Path d = TestCheckpoints.writeRandom(dir("h" + dt), cfg, 21, false, dt);
            try (SafeTensorsReader r = SafeTensorsReader.open(d.resolve("model.safetensors"))) {
                assertEquals(SafeTensorsDType.valueOf(dt), r.info("backbone.layers.0.mixer.A_log").dtype);
            }
            MambaWeights w = CheckpointLoader.load(d);
            assertSameWeights(RandomCheckpoint.random(cfg, 21), w, SafeTensorsDType.valueOf(dt));
        }
    }

    @Test
    void shardedCheckpoint() throws Exception {
        MambaConfig cfg = ConfigLoader.withTiedEmbeddings(TestCheckpoints.tiny(), false);
        MambaWeights want = RandomCheckpoint.random(cfg, 17);
        Path d = dir("sharded");
        ConfigLoader.write(d.resolve("config.json"), cfg);
        SafeTensorsWriter.writeSharded(d, RandomCheckpoint.tensors(want, RandomCheckpoint.Layout.HF_CAUSAL_LM), 2,
                SafeTensorsDType.BF16);
        assertTrue(Files.exists(d.resolve("model-00001-of-00002.safetensors")));
        assertTrue(Files.exists(d.resolve("model-00002-of-00002.safetensors")));
        assertSameWeights(want, CheckpointLoader.load(d), SafeTensorsDType.BF16);

        // shape errors name the shard that holds the tensor
        Map<String, HostTensor> t = new LinkedHashMap<>(RandomCheckpoint.tensors(want, RandomCheckpoint.Layout.HF_CAUSAL_LM));
        t.put("lm_head.weight", zeros("lm_head.weight", 37, 15));
        Path d2 = dir("sharded2");
        ConfigLoader.write(d2.resolve("config.json"), cfg);
        SafeTensorsWriter.writeSharded(d2, t, 2, SafeTensorsDType.F32);
        assertEquals("model-00002-of-00002.safetensors: tensor lm_head.weight has shape [37, 15], config implies "
                + "[37, 16] (hidden_size 16)", loadError(d2));

        Files.delete(d2.resolve("model-00002-of-00002.safetensors"));
        assertContains(loadError(d2), "model.safetensors.index.json: shard file model-00002-of-00002.safetensors (holding ",
                "not found in " + d2.toAbsolutePath());

        Files.writeString(d2.resolve("model.safetensors.index.json"),
                "{\"weight_map\": {\"backbone.embeddings.weight\": \"model-00001-of-00002.safetensors\","
                        + " \"ghost\": \"model-00001-of-00002.safetensors\"}}");
        assertEquals("model.safetensors.index.json lists tensor ghost in model-00001-of-00002.safetensors, but that "
                + "file has no such tensor", loadError(d2));
        Files.writeString(d2.resolve("model.safetensors.index.json"), "{\"weight_map\": [1]}");
        assertEquals("model.safetensors.index.json: needs an object \"weight_map\" (tensor name → shard file), found ARRAY",
                loadError(d2));
        Files.writeString(d2.resolve("model.safetensors.index.json"), "{\"weight_map\": {\"a\": \"../x.safetensors\"}}");
        assertContains(loadError(d2), "names shard ../x.safetensors, which is outside the model directory");
        Files.writeString(d2.resolve("model.safetensors.index.json"), "{\"weight_map\": ");
        assertContains(loadError(d2), "model.safetensors.index.json: not valid JSON");
    }

    // ---- errors ------------------------------------------------------------------------------------------------

    @Test
    void wrongShapeNamesFileTensorAndBothShapes() throws Exception {
        MambaConfig cfg = TestCheckpoints.tokens(96, 4, 50, 16, 4, 192, 8, true, false, true);
        Map<String, HostTensor> t = new LinkedHashMap<>(RandomCheckpoint.tensors(RandomCheckpoint.random(cfg, 1),
                RandomCheckpoint.Layout.HF_CAUSAL_LM));
        t.put("backbone.layers.3.mixer.x_proj.weight", zeros("x", 38, 192));
        assertEquals("model.safetensors: tensor backbone.layers.3.mixer.x_proj.weight has shape [38, 192], config "
                + "implies [40, 192] (time_step_rank 8 + 2 × state_size 16)", loadError(write(dir("x"), cfg, t)));

        t.put("backbone.layers.3.mixer.x_proj.weight", zeros("x", 40, 192));
        t.put("backbone.layers.1.mixer.conv1d.weight", zeros("c", 192, 4));
        assertEquals("model.safetensors: tensor backbone.layers.1.mixer.conv1d.weight has shape [192, 4], config implies "
                + "[192, 1, 4] (intermediate_size 192, 1 (depthwise), conv_kernel 4)", loadError(write(dir("c"), cfg, t)));
    }

    @Test
    void wrongConfigGivesOneErrorForManyTensors() throws Exception {
        MambaConfig fileCfg = TestCheckpoints.tiny();
        MambaConfig claimed = TestCheckpoints.tokens(16, 2, 37, 8, 4, 32, 3, true, false, true); // state 8, file has 4
        Path d = write(dir("many"), claimed, RandomCheckpoint.tensors(RandomCheckpoint.random(fileCfg, 1),
                RandomCheckpoint.Layout.HF_CAUSAL_LM));
        assertEquals("model.safetensors: tensor backbone.layers.0.mixer.x_proj.weight has shape [11, 32], config implies "
                + "[19, 32] (time_step_rank 3 + 2 × state_size 8) (and 3 more tensors with wrong shapes)", loadError(d));
    }

    @Test
    void missingTensors() throws Exception {
        MambaConfig cfg = TestCheckpoints.tiny();
        Map<String, HostTensor> t = new LinkedHashMap<>(RandomCheckpoint.tensors(RandomCheckpoint.random(cfg, 1),
                RandomCheckpoint.Layout.HF_CAUSAL_LM));
        t.remove("backbone.layers.1.mixer.A_log");
        String m = loadError(write(dir("m1"), cfg, t));
        assertTrue(m.startsWith("model.safetensors: missing tensor backbone.layers.1.mixer.A_log (MambaConfig{"), m);

        t.keySet().removeIf(n -> n.startsWith("backbone.layers.1."));
        m = loadError(write(dir("m2"), cfg, t));
        assertTrue(m.startsWith("model.safetensors: missing tensors backbone.layers.1.norm.weight, "
                + "backbone.layers.1.mixer.in_proj.weight, backbone.layers.1.mixer.conv1d.weight, "
                + "backbone.layers.1.mixer.conv1d.bias (config has use_conv_bias true), "
                + "backbone.layers.1.mixer.x_proj.weight, backbone.layers.1.mixer.dt_proj.weight, "
                + "backbone.layers.1.mixer.dt_proj.bias, backbone.layers.1.mixer.A_log and 2 more"), m);

        t.remove("backbone.embeddings.weight");
        assertContains(loadError(write(dir("m3"), cfg, t)),
                "backbone.embeddings.weight (or backbone.embedding.weight)");

        MambaConfig withBias = TestCheckpoints.tokens(16, 2, 37, 4, 4, 32, 3, true, true, true);
        m = loadError(write(dir("m4"), withBias, RandomCheckpoint.tensors(RandomCheckpoint.random(cfg, 1),
                RandomCheckpoint.Layout.HF_CAUSAL_LM)));
        assertContains(m, "missing tensors backbone.layers.0.mixer.in_proj.bias (config has use_bias true)");

        MambaConfig untied = ConfigLoader.withTiedEmbeddings(cfg, false);
        m = loadError(write(dir("m5"), untied, RandomCheckpoint.tensors(RandomCheckpoint.random(cfg, 1),
                RandomCheckpoint.Layout.HF_CAUSAL_LM)));
        assertTrue(m.startsWith("model.safetensors: missing tensor lm_head.weight (config has tie_word_embeddings false)"), m);
    }

    @Test
    void unexpectedTensors() throws Exception {
        MambaConfig cfg = TestCheckpoints.tiny();
        MambaWeights w = RandomCheckpoint.random(cfg, 1);
        Map<String, HostTensor> t = new LinkedHashMap<>(RandomCheckpoint.tensors(w, RandomCheckpoint.Layout.HF_CAUSAL_LM));
        t.put("backbone.layers.2.norm.weight", zeros("n", 16));
        String m = loadError(write(dir("e1"), cfg, t));
        assertTrue(m.startsWith("model.safetensors: unexpected tensor backbone.layers.2.norm.weight "
                + "(config has num_hidden_layers 2) (MambaConfig{"), m);

        t.remove("backbone.layers.2.norm.weight");
        t.put("backbone.layers.0.mixer.in_proj.bias", zeros("b", 64));
        t.put("rotary.inv_freq", zeros("r", 4));
        m = loadError(write(dir("e2"), cfg, t));
        assertTrue(m.startsWith("model.safetensors: unexpected tensors backbone.layers.0.mixer.in_proj.bias "
                + "(config has use_bias false), rotary.inv_freq (MambaConfig{"), m);

        // bare layout with an LM head
        Map<String, HostTensor> bare = new LinkedHashMap<>(RandomCheckpoint.tensors(w, RandomCheckpoint.Layout.HF_BARE));
        bare.put("lm_head.weight", w.embeddings);
        assertContains(loadError(write(dir("e3"), cfg, bare)), "unexpected tensor lm_head.weight (tensors without the "
                + "backbone. prefix are a bare MambaModel, which has no LM head)");

        // both embedding spellings
        t.remove("backbone.layers.0.mixer.in_proj.bias");
        t.remove("rotary.inv_freq");
        t.put("backbone.embedding.weight", w.embeddings);
        assertContains(loadError(write(dir("e4"), cfg, t)), "unexpected tensor backbone.embedding.weight");

        // half the names without the prefix
        t.remove("backbone.embedding.weight");
        HostTensor normF = t.remove("backbone.norm_f.weight");
        t.put("norm_f.weight", normF);
        String e5 = loadError(write(dir("e5"), cfg, t));
        assertContains(e5, "missing tensor backbone.norm_f.weight");
        t.put("backbone.norm_f.weight", normF);
        assertContains(loadError(write(dir("e6"), cfg, t)),
                "unexpected tensor norm_f.weight (other tensors have the backbone. prefix)");
    }

    @Test
    void unsupportedDtypeInACheckpoint() throws Exception {
        MambaConfig cfg = TestCheckpoints.tokens(2, 1, 3, 1, 2, 2, 1, false, false, true);
        Path d = dir("f64");
        ConfigLoader.write(d.resolve("config.json"), cfg);
        Map<String, HostTensor> t = RandomCheckpoint.tensors(RandomCheckpoint.random(cfg, 1), RandomCheckpoint.Layout.HF_BARE);
        // rewrite as a hand-built file whose D is F64
        StringBuilder h = new StringBuilder("{");
        java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
        for (Map.Entry<String, HostTensor> e : t.entrySet()) {
            boolean f64 = e.getKey().equals("layers.0.mixer.D");
            int bytes = e.getValue().data.length * (f64 ? 8 : 4);
            h.append(h.length() > 1 ? "," : "").append('"').append(e.getKey()).append("\":{\"dtype\":\"")
                    .append(f64 ? "F64" : "F32").append("\",\"shape\":").append(java.util.Arrays.toString(e.getValue().shape))
                    .append(",\"data_offsets\":[").append(data.size()).append(',').append(data.size() + bytes).append("]}");
            data.write(new byte[bytes]);
        }
        TestCheckpoints.rawFile(d.resolve("model.safetensors"), h.append('}').toString(), data.toByteArray());
        assertEquals("model.safetensors: tensor layers.0.mixer.D has dtype F64, which cannot be read as floats; "
                + "supported dtypes are F32, BF16, F16", loadError(d));
    }

    @Test
    void missingFiles() throws Exception {
        Path none = tmp.resolve("absent");
        assertContains(loadError(none), none + ": not a model directory");
        Path d = dir("empty");
        assertEquals(d + ": no config.json (looked for " + d.resolve("config.json") + ")", loadError(d));
        ConfigLoader.write(d.resolve("config.json"), TestCheckpoints.tiny());
        assertEquals(d + ": no model weights: looked for model.safetensors and model.safetensors.index.json", loadError(d));
        Files.write(d.resolve("pytorch_model.bin"), new byte[1]);
        assertContains(loadError(d), "found pytorch_model.bin, but only safetensors is supported");
    }

    @Test
    void badConfigIsACheckpointErrorNamingTheKey() throws Exception {
        Path d = TestCheckpoints.writeRandom(dir("badcfg"), TestCheckpoints.tiny(), 1, true, "F32");
        Files.writeString(d.resolve("config.json"), "{\"model_type\": \"mamba\", \"hidden_size\": 16, "
                + "\"num_hidden_layers\": 2, \"vocab_size\": 37, \"state_size\": \"4\"}");
        assertEquals("config.json: key state_size must be a positive integer, found \"4\" (a string)", loadError(d));
        Files.writeString(d.resolve("config.json"), "{\"model_type\": \"mamba2\", \"hidden_size\": 16, "
                + "\"num_hidden_layers\": 2, \"vocab_size\": 37}");
        assertContains(loadError(d), "config.json: model_type \"mamba2\" is not supported");
    }

    @Test
    void truncatedCheckpointFile() throws Exception {
        Path d = TestCheckpoints.writeRandom(dir("trunc"), TestCheckpoints.tiny(), 1, true, "F32");
        Path f = d.resolve("model.safetensors");
        byte[] all = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(all, all.length - 10));
        assertContains(loadError(d), "model.safetensors: tensor backbone.norm_f.weight needs bytes [",
                "of the data section but the file has only");
    }
}
