package dev.mamba.pipeline.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigLoaderTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private static JsonNode json(String s) throws Exception {
        return JSON.readTree(s.replace('\'', '"'));
    }

    private static MambaConfig parse(String s) throws Exception {
        return ConfigLoader.parse(json(s), "config.json");
    }

    private static String error(String s) throws Exception {
        JsonNode n = json(s);
        return assertThrows(IllegalArgumentException.class, () -> ConfigLoader.parse(n, "config.json")).getMessage();
    }

    /** The config.json of state-spaces/mamba-130m-hf (as converted by transformers): both spellings present. */
    private static final String HF_130M = "{'architectures':['MambaForCausalLM'],'bos_token_id':0,'conv_kernel':4,"
            + "'d_inner':1536,'d_model':768,'eos_token_id':0,'expand':2,'fused_add_norm':true,'hidden_act':'silu',"
            + "'hidden_size':768,'initializer_range':0.1,'intermediate_size':1536,'layer_norm_epsilon':1e-05,"
            + "'model_type':'mamba','n_layer':24,'num_hidden_layers':24,'pad_token_id':0,'pad_vocab_size_multiple':8,"
            + "'rescale_prenorm_residual':false,'residual_in_fp32':true,'rms_norm':true,'state_size':16,"
            + "'time_step_floor':0.0001,'time_step_init_scheme':'random','time_step_max':0.1,'time_step_min':0.001,"
            + "'time_step_rank':48,'time_step_scale':1.0,'torch_dtype':'float32','use_bias':false,'use_cache':true,"
            + "'use_conv_bias':true,'vocab_size':50280}";

    @Test
    void huggingFace130m() throws Exception {
        MambaConfig c = parse(HF_130M);
        assertEquals(ModelFamily.TOKENS, c.family);
        assertEquals(768, c.hiddenSize);
        assertEquals(24, c.numLayers);
        assertEquals(50280, c.vocabSize);
        assertEquals(16, c.stateSize);
        assertEquals(4, c.convKernel);
        assertEquals(1536, c.intermediateSize);
        assertEquals(48, c.timeStepRank);
        assertTrue(c.useConvBias);
        assertFalse(c.useBias);
        assertEquals(1e-5f, c.layerNormEpsilon);
        assertTrue(c.residualInFp32);
        assertTrue(c.tieWordEmbeddings);
        ConfigLoader.Resolved r = ConfigLoader.resolve(json(HF_130M), "config.json");
        assertFalse(r.mambaSsmNames, "hidden_size present: HF semantics");
    }

    @Test
    void huggingFaceDefaults() throws Exception {
        MambaConfig c = parse("{'model_type':'mamba','hidden_size':100,'num_hidden_layers':3,'vocab_size':1001}");
        assertEquals(16, c.stateSize);
        assertEquals(4, c.convKernel);
        assertEquals(200, c.intermediateSize);
        assertEquals(7, c.timeStepRank, "auto = ceil(100 / 16)");
        assertTrue(c.useConvBias);
        assertFalse(c.useBias);
        assertEquals(1e-5f, c.layerNormEpsilon);
        assertTrue(c.tieWordEmbeddings);
        assertEquals(1001, c.vocabSize, "no padding in HF configs");
        c = parse("{'hidden_size':64,'num_hidden_layers':1,'vocab_size':1001,'expand':3,'time_step_rank':'auto',"
                + "'pad_vocab_size_multiple':8,'tie_word_embeddings':false,'use_bias':true,'use_conv_bias':false,"
                + "'layer_norm_epsilon':1e-6,'residual_in_fp32':false,'state_size':8,'conv_kernel':2}");
        assertEquals(192, c.intermediateSize);
        assertEquals(4, c.timeStepRank);
        assertEquals(1001, c.vocabSize, "HF vocab_size is already the row count; pad multiple not applied");
        ConfigLoader.Resolved r = ConfigLoader.resolve(json("{'hidden_size':64,'num_hidden_layers':1,"
                + "'vocab_size':1001,'pad_vocab_size_multiple':8}"), "config.json");
        assertEquals(1001, r.vocabUnpadded);
        assertEquals(1008, r.vocabPadded);
        assertFalse(c.tieWordEmbeddings);
        assertTrue(c.useBias);
        assertFalse(c.useConvBias);
        assertFalse(c.residualInFp32);
        assertEquals(1e-6f, c.layerNormEpsilon);
        assertEquals(8, c.stateSize);
        assertEquals(2, c.convKernel);
    }

    @Test
    void mambaSsmNames() throws Exception {
        // state-spaces/mamba-130m's config.json
        MambaConfig c = parse("{'d_model':768,'n_layer':24,'vocab_size':50277,'ssm_cfg':{},'rms_norm':true,"
                + "'residual_in_fp32':true,'fused_add_norm':true,'pad_vocab_size_multiple':8}");
        assertEquals(768, c.hiddenSize);
        assertEquals(24, c.numLayers);
        assertEquals(50280, c.vocabSize, "rounded up to a multiple of 8");
        assertEquals(1536, c.intermediateSize);
        assertEquals(48, c.timeStepRank);
        assertTrue(c.tieWordEmbeddings);
        c = parse("{'d_model':64,'n_layer':2,'vocab_size':100,'tie_embeddings':false,"
                + "'ssm_cfg':{'d_state':8,'d_conv':3,'expand':3,'dt_rank':5,'conv_bias':false,'bias':true,"
                + "'dt_min':0.001}}");
        assertEquals(104, c.vocabSize, "mamba_ssm's default pad_vocab_size_multiple is 8");
        assertEquals(8, c.stateSize);
        assertEquals(3, c.convKernel);
        assertEquals(192, c.intermediateSize);
        assertEquals(5, c.timeStepRank);
        assertFalse(c.useConvBias);
        assertTrue(c.useBias);
        assertFalse(c.tieWordEmbeddings);
        assertEquals(100, parse("{'d_model':64,'n_layer':2,'vocab_size':100,'pad_vocab_size_multiple':1}").vocabSize);
        assertEquals(4, parse("{'d_model':64,'n_layer':2,'vocab_size':100,'ssm_cfg':{'dt_rank':'auto'}}").timeStepRank);
    }

    @Test
    void continuousFamily() throws Exception {
        MambaConfig c = parse("{'model_type':'mamba_continuous','hidden_size':32,'num_hidden_layers':2,"
                + "'input_features':5,'output_features':3,'state_size':8}");
        assertEquals(ModelFamily.CONTINUOUS, c.family);
        assertEquals(5, c.inputFeatures);
        assertEquals(3, c.outputFeatures);
        assertEquals(0, c.vocabSize);
        assertFalse(c.tieWordEmbeddings);
        assertEquals(64, c.intermediateSize);
        assertEquals("config.json: missing key input_features (model_type mamba_continuous)",
                error("{'model_type':'mamba_continuous','hidden_size':32,'num_hidden_layers':2,'output_features':3}"));
        assertEquals("config.json: key output_features must be a positive integer, found 0",
                error("{'model_type':'mamba_continuous','hidden_size':32,'num_hidden_layers':2,'input_features':1,"
                        + "'output_features':0}"));
    }

    @Test
    void unsupportedModels() throws Exception {
        assertEquals("config.json: model_type \"mamba2\" is not supported; this loader reads Mamba-1 models "
                        + "(model_type \"mamba\", or \"mamba_continuous\" for continuous inputs)",
                error("{'model_type':'mamba2','hidden_size':64,'num_hidden_layers':2,'vocab_size':10}"));
        assertEquals("config.json: key rms_norm is false (LayerNorm); only RMSNorm models are supported",
                error("{'d_model':64,'n_layer':2,'vocab_size':10,'rms_norm':false}"));
        assertEquals("config.json: key ssm_cfg.layer is \"Mamba2\"; only Mamba1 blocks are supported",
                error("{'d_model':64,'n_layer':2,'vocab_size':10,'ssm_cfg':{'layer':'Mamba2'}}"));
        assertTrue(error("{'d_model':64,'n_layer':2,'vocab_size':10,'d_intermediate':128}")
                .startsWith("config.json: key d_intermediate is 128: MLP blocks"));
        assertTrue(error("{'d_model':64,'n_layer':2,'vocab_size':10,'attn_layer_idx':[1]}")
                .startsWith("config.json: key attn_layer_idx is [1]: attention layers"));
        assertEquals("config.json: key hidden_act is \"gelu\"; Mamba-1 uses silu",
                error("{'hidden_size':64,'num_hidden_layers':2,'vocab_size':10,'hidden_act':'gelu'}"));
        parse("{'d_model':64,'n_layer':2,'vocab_size':10,'attn_layer_idx':[],'attn_cfg':{},'d_intermediate':0}");
    }

    @Test
    void wrongTypesAndValuesNameTheKey() throws Exception {
        assertEquals("config.json: key hidden_size must be a positive integer, found \"768\" (a string)",
                error("{'hidden_size':'768','num_hidden_layers':2,'vocab_size':10}"));
        assertEquals("config.json: key num_hidden_layers must be a positive integer, found -2",
                error("{'hidden_size':64,'num_hidden_layers':-2,'vocab_size':10}"));
        assertEquals("config.json: key vocab_size must be a positive integer, found 10.5",
                error("{'hidden_size':64,'num_hidden_layers':2,'vocab_size':10.5}"));
        assertEquals("config.json: key state_size must be a positive integer, found 0",
                error("{'hidden_size':64,'num_hidden_layers':2,'vocab_size':10,'state_size':0}"));
        assertEquals("config.json: key ssm_cfg.d_state must be a positive integer, found -16",
                error("{'d_model':64,'n_layer':2,'vocab_size':10,'ssm_cfg':{'d_state':-16}}"));
        assertEquals("config.json: key use_bias must be true or false, found \"false\" (a string)",
                error("{'hidden_size':64,'num_hidden_layers':2,'vocab_size':10,'use_bias':'false'}"));
        assertEquals("config.json: key time_step_rank must be a positive integer or \"auto\", found \"full\" (a string)",
                error("{'hidden_size':64,'num_hidden_layers':2,'vocab_size':10,'time_step_rank':'full'}"));
        assertEquals("config.json: key layer_norm_epsilon must be a positive number, found -1.0E-5",
                error("{'hidden_size':64,'num_hidden_layers':2,'vocab_size':10,'layer_norm_epsilon':-1e-5}"));
        assertEquals("config.json: key ssm_cfg must be a JSON object, found [] (an array)",
                error("{'d_model':64,'n_layer':2,'vocab_size':10,'ssm_cfg':[]}"));
        assertEquals("config.json: key model_type must be a string, found 3",
                error("{'model_type':3,'hidden_size':64,'num_hidden_layers':2,'vocab_size':10}"));
        assertEquals("config.json: key hidden_size must be a positive integer, found 3000000000",
                error("{'hidden_size':3000000000,'num_hidden_layers':2,'vocab_size':10}"));
        assertEquals("config.json: keys hidden_size (768) and d_model (512) disagree",
                error("{'hidden_size':768,'d_model':512,'num_hidden_layers':2,'vocab_size':10}"));
        assertEquals("config.json: missing key hidden_size (or d_model)", error("{'num_hidden_layers':2,'vocab_size':10}"));
        assertEquals("config.json: missing key num_hidden_layers (or n_layer)", error("{'hidden_size':2,'vocab_size':10}"));
        assertEquals("config.json: missing key vocab_size", error("{'hidden_size':2,'num_hidden_layers':1}"));
        assertEquals("config.json: must be a JSON object", error("[]"));
    }

    @Test
    void loadNamesTheFile() throws Exception {
        Path f = tmp.resolve("config.json");
        Files.writeString(f, "{\"hidden_size\": 64, \"num_hidden_layers\": ");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ConfigLoader.load(f));
        assertTrue(e.getMessage().startsWith("config.json: not valid JSON"), e.getMessage());
        Files.writeString(f, "{\"hidden_size\": 64, \"num_hidden_layers\": 2, \"vocab_size\": -1}");
        e = assertThrows(IllegalArgumentException.class, () -> ConfigLoader.load(f));
        assertEquals("config.json: key vocab_size must be a positive integer, found -1", e.getMessage());
        Path missing = tmp.resolve("none").resolve("config.json");
        NoSuchFileException nf = assertThrows(NoSuchFileException.class, () -> ConfigLoader.load(missing));
        assertTrue(nf.getMessage().contains(missing.toString()), nf.getMessage());
    }

    @Test
    void writtenJsonReadsBackTheSameConfig() throws Exception {
        MambaConfig[] cs = {
            new MambaConfig(ModelFamily.TOKENS, 96, 3, 1000, 12, 3, 200, 7, false, true, 1e-5f, false, false, 0, 0),
            new MambaConfig(ModelFamily.CONTINUOUS, 16, 1, 0, 4, 4, 32, 1, true, false, 3e-6f, true, false, 7, 2)};
        for (MambaConfig c : cs) {
            Path f = tmp.resolve("config.json");
            ConfigLoader.write(f, c);
            assertEquals(c.toString(), ConfigLoader.load(f).toString());
        }
    }
}
