package dev.mamba.pipeline.score;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The causal normaliser and the anomaly scorer against values worked out by hand. */
class ScoringTest {
    @Test
    void normaliserUsesOnlyThePast() {
        // half-life huge: plain running mean and (population) variance of the steps before
        CausalNormalizer n = new CausalNormalizer(1, 1e12);
        float[] x = {1, 3, 2, 5}, z = new float[4];
        for (int t = 0; t < 4; t++) {
            n.step(x, t, z, t);
        }
        assertEquals(0f, z[0]);                                    // no history
        assertEquals((float) CausalNormalizer.CLIP, z[1]);         // variance 0 before step 1: clipped
        double m2 = 2, v2 = 1;                                      // mean, var of {1, 3}
        assertEquals((2 - m2) / Math.sqrt(v2 + CausalNormalizer.EPS), z[2], 1e-6);
        double m3 = 2, v3 = 2.0 / 3;                                // of {1, 3, 2}
        assertEquals((5 - m3) / Math.sqrt(v3 + CausalNormalizer.EPS), z[3], 1e-5);
        assertEquals(2.75, n.mean(0), 1e-12);
    }

    @Test
    void scorerSkipsTheWarmupAndDividesByPastRms() {
        AnomalyScorer s = new AnomalyScorer(1e12, 2.5, 2);
        assertEquals(0, s.score(20), 0);   // warm-up: scored 0, not remembered
        assertEquals(0, s.score(5), 0);
        assertEquals(0, s.score(1), 0);    // first remembered: no history yet
        double sc = s.score(3);            // 3 / sqrt(mean of {1²}) = 3
        assertEquals(3, sc, 1e-9);
        assertTrue(s.flags(sc, 3));
        assertFalse(s.flags(sc, 1));       // within the warm-up never flags
        assertEquals(4, s.count());
        assertEquals(2 / Math.sqrt(5.0), s.score(2), 1e-9); // history {1, 9}: rms sqrt(5)
    }
}
