package dev.mamba.pipeline.checkpoint;

import dev.mamba.pipeline.config.ConfigLoader;
import dev.mamba.pipeline.config.MambaConfig;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RandomCheckpointTest {
    private static void assertSpans(HostTensor t, double lo, double hi) {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (float v : t.data) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        assertTrue(min >= lo && max <= hi, t.name + " in [" + min + ", " + max + "], want within [" + lo + ", " + hi + "]");
        double slack = 0.15 * (hi - lo);
        assertTrue(min < lo + slack && max > hi - slack, t.name + " spans only [" + min + ", " + max + "]");
    }

    @Test
    void valuesAreFarFromDefaultsAndInRange() {
        MambaConfig cfg = TestCheckpoints.tokens(64, 2, 100, 16, 4, 128, 4, true, true, false);
        MambaWeights w = RandomCheckpoint.random(cfg, 99);
        for (MambaWeights.Layer l : w.layers) {
            assertSpans(l.aLog, -1, 2);
            assertSpans(l.d, -2, 2);
            assertSpans(l.norm, 0.5, 1.5);
            assertSpans(l.dtProjBias, -4, 1);
            assertSpans(l.inProjBias, -0.5, 0.5);
            assertSpans(l.conv1dWeight, -0.5, 0.5);
            assertSpans(l.inProjWeight, -0.125, 0.125);
            assertSpans(l.outProjWeight, -1 / Math.sqrt(128), 1 / Math.sqrt(128));
        }
        assertSpans(w.normF, 0.5, 1.5);
        assertSpans(w.embeddings, -1, 1);
        assertSpans(w.lmHead, -0.125, 0.125);
    }

    @Test
    void deterministicPerSeedAndIndependentOfTying() {
        MambaConfig cfg = TestCheckpoints.tiny();
        MambaWeights a = RandomCheckpoint.random(cfg, 5);
        MambaWeights b = RandomCheckpoint.random(cfg, 5);
        MambaWeights c = RandomCheckpoint.random(cfg, 6);
        MambaWeights u = RandomCheckpoint.random(ConfigLoader.withTiedEmbeddings(cfg, false), 5);
        assertArrayEquals(a.layers.get(1).xProjWeight.data, b.layers.get(1).xProjWeight.data);
        assertArrayEquals(a.embeddings.data, u.embeddings.data);
        assertArrayEquals(a.layers.get(0).aLog.data, u.layers.get(0).aLog.data);
        assertFalse(Arrays.equals(a.layers.get(1).xProjWeight.data, c.layers.get(1).xProjWeight.data));
        // different tensors of the same shape differ (own generator each)
        assertFalse(Arrays.equals(a.layers.get(0).d.data, a.layers.get(1).d.data));
        assertEquals(a.embeddings, a.lmHead);
    }

    @Test
    void layoutsNameTheSameTensors() {
        MambaWeights w = RandomCheckpoint.random(ConfigLoader.withTiedEmbeddings(TestCheckpoints.tiny(), false), 1);
        Map<String, HostTensor> hf = RandomCheckpoint.tensors(w, RandomCheckpoint.Layout.HF_CAUSAL_LM);
        Map<String, HostTensor> bare = RandomCheckpoint.tensors(w, RandomCheckpoint.Layout.HF_BARE);
        Map<String, HostTensor> ssm = RandomCheckpoint.tensors(w, RandomCheckpoint.Layout.MAMBA_SSM);
        assertEquals(2 + 2 * 10 + 1, hf.size());
        assertEquals(hf.size() - 1, bare.size());
        assertEquals(hf.size(), ssm.size());
        assertEquals(w.embeddings, hf.get("backbone.embeddings.weight"));
        assertEquals(w.embeddings, ssm.get("backbone.embedding.weight"));
        assertEquals(w.embeddings, bare.get("embeddings.weight"));
        assertEquals(w.lmHead, hf.get("lm_head.weight"));
        assertEquals(w.layers.get(1).dtProjBias, bare.get("layers.1.mixer.dt_proj.bias"));
    }
}
