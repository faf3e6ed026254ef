package dev.mamba.pipeline.model;

import dev.mamba.kernels.cpu.CpuBackend;
import dev.mamba.pipeline.checkpoint.MambaWeights;
import dev.mamba.pipeline.config.MambaConfig;
import dev.mamba.pipeline.state.SequenceState;
import dev.mamba.pipeline.state.StateCodec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.EnumSet;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RunnerTest {
    private CpuBackend backend;

    @BeforeEach
    void open() {
        backend = new CpuBackend(2);
    }

    @AfterEach
    void close() {
        backend.close();
    }

    static int[] randomTokens(Random rnd, int len, int vocab) {
        int[] t = new int[len];
        for (int i = 0; i < len; i++) {
            t[i] = rnd.nextInt(vocab);
        }
        return t;
    }

    /** Runs one sequence alone in lane 0 of a 1-lane runner in chunks of {@code chunk}. */
    static float[][] runChunked(Runner run, int[] tokens, int chunk, int hidden) {
        run.reset(0);
        float[][] out = new float[tokens.length][hidden];
        for (int s = 0; s < tokens.length; s += chunk) {
            int n = Math.min(chunk, tokens.length - s);
            ForwardBatch b = new ForwardBatch(1, n);
            b.lens[0] = n;
            b.tokens = java.util.Arrays.copyOfRange(tokens, s, s + n);
            ForwardResult r = run.forward(b, EnumSet.of(Output.HIDDEN));
            for (int t = 0; t < n; t++) {
                System.arraycopy(r.hidden, t * hidden, out[s + t], 0, hidden);
            }
        }
        return out;
    }

    static double relErr(float[][] got, double[][] ref) {
        double num = 0, den = 0;
        for (int t = 0; t < ref.length; t++) {
            for (int j = 0; j < ref[t].length; j++) {
                double e = got[t][j] - ref[t][j];
                num += e * e;
                den += ref[t][j] * ref[t][j];
            }
        }
        return Math.sqrt(num / den);
    }

    static double relErr(float[][] got, float[][] ref) {
        double num = 0, den = 0;
        for (int t = 0; t < ref.length; t++) {
            for (int j = 0; j < ref[t].length; j++) {
                double e = got[t][j] - ref[t][j];
                num += e * e;
                den += (double) ref[t][j] * ref[t][j];
            }
        }
        return Math.sqrt(num / den);
    }

    @Test
    void matchesDoubleReferenceAndIsChunkInvariant() {
        MambaConfig cfg = TestWeights.tokens(40, 2, 23, 8, 3, 120, 5, true, true);
        MambaWeights w = TestWeights.random(cfg, 7, false);
        Random rnd = new Random(11);
        int[] tokens = randomTokens(rnd, 150, cfg.vocabSize);
        double[][] ref = ReferenceMamba.hidden(w, tokens, null);
        try (MambaModel m = new MambaModel(w, backend); Runner run = m.newRunner(1, 150)) {
            float[][] one = runChunked(run, tokens, 150, cfg.hiddenSize);
            double e = relErr(one, ref);
            assertTrue(e <= 1e-5, "one pass vs double reference: " + e);
            for (int chunk : new int[]{1, 2, 3, 17, 64}) {
                double ec = relErr(runChunked(run, tokens, chunk, cfg.hiddenSize), one);
                assertTrue(ec <= 1e-5, "chunk " + chunk + " vs one pass: " + ec);
            }
        }
        assertEquals(0, backend.bytesAllocated(), "bytes left allocated after close");
    }

    @Test
    void raggedLanesMatchSingleSequences() {
        MambaConfig cfg = TestWeights.tokens(32, 2, 11, 16, 4, 64, 2, true, false);
        MambaWeights w = TestWeights.random(cfg, 3, true);
        Random rnd = new Random(5);
        int[][] seqs = {randomTokens(rnd, 37, 11), randomTokens(rnd, 5, 11), randomTokens(rnd, 1, 11),
                randomTokens(rnd, 64, 11)};
        try (MambaModel m = new MambaModel(w, backend); Runner one = m.newRunner(1, 64);
             Runner four = m.newRunner(4, 16)) {
            // 4 lanes, chunks of 16 steps, each lane advancing at its own pace.
            float[][][] got = new float[4][][];
            for (int b = 0; b < 4; b++) {
                got[b] = new float[seqs[b].length][cfg.hiddenSize];
                four.reset(b);
            }
            int[] pos = new int[4];
            boolean any = true;
            while (any) {
                any = false;
                ForwardBatch fb = new ForwardBatch(4, 16);
                fb.tokens = new int[64];
                for (int b = 0; b < 4; b++) {
                    // lane 1 idles every other call to exercise len = 0
                    int n = Math.min(16, seqs[b].length - pos[b]);
                    fb.lens[b] = n;
                    for (int t = 0; t < n; t++) {
                        fb.tokens[b * 16 + t] = seqs[b][pos[b] + t];
                    }
                    any |= n > 0;
                }
                ForwardResult r = four.forward(fb, EnumSet.of(Output.HIDDEN));
                for (int b = 0; b < 4; b++) {
                    for (int t = 0; t < fb.lens[b]; t++) {
                        System.arraycopy(r.hidden, (b * 16 + t) * cfg.hiddenSize, got[b][pos[b] + t], 0, cfg.hiddenSize);
                    }
                    pos[b] += fb.lens[b];
                }
            }
            for (int b = 0; b < 4; b++) {
                float[][] alone = runChunked(one, seqs[b], 64, cfg.hiddenSize);
                assertTrue(relErr(got[b], alone) <= 1e-6, "lane " + b);
            }
        }
    }

    @Test
    void logitsNllAndSummary() {
        MambaConfig cfg = TestWeights.tokens(24, 1, 9, 4, 4, 48, 2, true, false);
        MambaWeights w = TestWeights.random(cfg, 9, false);
        int[] tokens = randomTokens(new Random(1), 12, 9);
        double[][] hid = ReferenceMamba.hidden(w, tokens, null);
        double[][] lg = ReferenceMamba.logits(w, hid);
        try (MambaModel m = new MambaModel(w, backend); Runner run = m.newRunner(2, 12)) {
            ForwardBatch b = new ForwardBatch(2, 12);
            b.lens[0] = 12;
            b.lens[1] = 0;
            b.tokens = new int[24];
            b.targets = new int[24];
            java.util.Arrays.fill(b.targets, -1);
            System.arraycopy(tokens, 0, b.tokens, 0, 12);
            for (int t = 0; t < 11; t++) {
                b.targets[t] = tokens[t + 1];
            }
            ForwardResult r = run.forward(b, EnumSet.of(Output.LOGITS, Output.NLL, Output.SUMMARY));
            for (int t = 0; t < 12; t++) {
                double max = Double.NEGATIVE_INFINITY, s = 0;
                for (int v = 0; v < 9; v++) {
                    assertEquals(lg[t][v], r.logits[t * 9 + v], 1e-4);
                    max = Math.max(max, lg[t][v]);
                }
                for (int v = 0; v < 9; v++) {
                    s += Math.exp(lg[t][v] - max);
                }
                if (t < 11) {
                    assertEquals(max + Math.log(s) - lg[t][tokens[t + 1]], r.nll[t], 1e-4);
                } else {
                    assertTrue(Float.isNaN(r.nll[t]));
                }
            }
            for (int j = 0; j < 24; j++) {
                double sum = 0;
                for (int t = 0; t < 12; t++) {
                    sum += hid[t][j];
                }
                assertEquals(sum, r.summary[j], 1e-4);
                assertEquals(hid[11][j], r.summary[24 + j], 1e-5);
                assertEquals(0f, r.summary[48 + j]);
            }
        }
    }

    @Test
    void continuousModelMatchesReference() {
        MambaConfig cfg = TestWeights.continuous(16, 2, 3, 2);
        MambaWeights w = TestWeights.random(cfg, 13, false);
        Random rnd = new Random(2);
        int len = 40;
        float[][] feats = new float[len][3];
        float[] flat = new float[len * 3];
        for (int t = 0; t < len; t++) {
            for (int q = 0; q < 3; q++) {
                feats[t][q] = (float) rnd.nextGaussian();
                flat[t * 3 + q] = feats[t][q];
            }
        }
        double[][] pred = ReferenceMamba.prediction(w, ReferenceMamba.hidden(w, null, feats));
        try (MambaModel m = new MambaModel(w, backend); Runner run = m.newRunner(1, 16)) {
            run.reset(0);
            float[][] got = new float[len][2];
            for (int s = 0; s < len; s += 16) {
                int n = Math.min(16, len - s);
                ForwardBatch b = new ForwardBatch(1, n);
                b.lens[0] = n;
                b.features = java.util.Arrays.copyOfRange(flat, s * 3, (s + n) * 3);
                ForwardResult r = run.forward(b, EnumSet.of(Output.PREDICTION));
                for (int t = 0; t < n; t++) {
                    got[s + t][0] = r.prediction[t * 2];
                    got[s + t][1] = r.prediction[t * 2 + 1];
                }
            }
            assertTrue(relErr(got, pred) <= 1e-5, "continuous: " + relErr(got, pred));
        }
    }

    @Test
    void stateSavesLoadsAndRoundTripsThroughCodec() {
        MambaConfig cfg = TestWeights.tokens(16, 2, 7, 4, 4, 32, 1, true, false);
        MambaWeights w = TestWeights.random(cfg, 21, true);
        int[] tokens = randomTokens(new Random(3), 30, 7);
        try (MambaModel m = new MambaModel(w, backend); Runner run = m.newRunner(1, 30)) {
            float[][] whole = runChunked(run, tokens, 30, 16);
            // first 13 steps, save, encode, decode, load into a fresh lane state, finish.
            run.reset(0);
            ForwardBatch b = new ForwardBatch(1, 13);
            b.lens[0] = 13;
            b.tokens = java.util.Arrays.copyOf(tokens, 13);
            run.forward(b, EnumSet.noneOf(Output.class));
            SequenceState s = SequenceState.zero(cfg, 2);
            run.saveState(0, s);
            s.position = 13;
            s.extras[1] = 4.5;
            SequenceState back = StateCodec.decode(StateCodec.encode(s), "test");
            assertEquals(13, back.position);
            assertEquals(4.5, back.extras[1]);
            run.reset(0);
            run.loadState(0, back);
            ForwardBatch rest = new ForwardBatch(1, 17);
            rest.lens[0] = 17;
            rest.tokens = java.util.Arrays.copyOfRange(tokens, 13, 30);
            ForwardResult r = run.forward(rest, EnumSet.of(Output.HIDDEN));
            for (int t = 0; t < 17; t++) {
                for (int j = 0; j < 16; j++) {
                    assertEquals(whole[13 + t][j], r.hidden[t * 16 + j], 1e-6);
                }
            }
            byte[] enc = StateCodec.encode(s);
            enc[50] ^= 1;
            IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> StateCodec.decode(enc, "saved.state"));
            assertTrue(ex.getMessage().contains("saved.state") && ex.getMessage().contains("checksum"), ex.getMessage());
            SequenceState wrong = new SequenceState(2, 32, 3, 8, 0);
            IllegalArgumentException ex2 = assertThrows(IllegalArgumentException.class, () -> run.loadState(0, wrong));
            assertTrue(ex2.getMessage().contains("d_state=8"), ex2.getMessage());
        }
    }

    @Test
    void rejectsTokensOutsideVocabulary() {
        MambaConfig cfg = TestWeights.tokens(8, 1, 5, 2, 2, 16, 1, false, false);
        try (MambaModel m = new MambaModel(TestWeights.random(cfg, 1, true), backend); Runner run = m.newRunner(1, 4)) {
            ForwardBatch b = new ForwardBatch(1, 4);
            b.lens[0] = 4;
            b.tokens = new int[]{1, 2, 5, 0};
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> run.forward(b, EnumSet.of(Output.HIDDEN)));
            assertTrue(e.getMessage().contains("step 2") && e.getMessage().contains("token id 5"), e.getMessage());
        }
    }
}
