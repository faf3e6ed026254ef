package dev.mamba.tests;

import dev.mamba.kernels.Backend;
import dev.mamba.kernels.BackendChoice;
import dev.mamba.kernels.Backends;
import dev.mamba.kernels.Precision;
import dev.mamba.kernels.cpu.CpuBackend;
import dev.mamba.pipeline.checkpoint.HostTensor;
import dev.mamba.pipeline.checkpoint.MambaWeights;
import dev.mamba.pipeline.checkpoint.RandomCheckpoint;
import dev.mamba.pipeline.config.MambaConfig;
import dev.mamba.pipeline.config.ModelFamily;
import dev.mamba.pipeline.model.ForwardBatch;
import dev.mamba.pipeline.model.ForwardResult;
import dev.mamba.pipeline.model.MambaModel;
import dev.mamba.pipeline.model.Output;
import dev.mamba.pipeline.model.Runner;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole model on the CUDA backend against the CPU backend: seeded random models, ragged lanes,
 * awkward lengths, chunk invariance on the GPU, the transformers fixtures, and no device memory left
 * after closing. Skipped (reported as skipped) where no CUDA device is usable.
 */
@Tag("gpu")
class CudaModelTest {
    static String unavailable;

    @BeforeAll
    static void probe() {
        try (Backend b = Backends.open(BackendChoice.CUDA, 0, Precision.FP32, 1)) {
            unavailable = null;
        } catch (RuntimeException e) {
            unavailable = e.getMessage();
        }
    }

    static void requireCuda() {
        Assumptions.assumeTrue(unavailable == null, "requires a CUDA device: " + unavailable);
    }

    static double tolerance(Precision p) {
        return p == Precision.FP32 ? 1e-5 : p == Precision.TF32 ? 1e-3 : 2e-2;
    }

    /** Runs lanes of the given lengths, in pieces of {@code chunk} steps with the state carried; hidden + logits. */
    static float[][][] run(Backend be, MambaWeights w, int[][] seqs, int lanes, int chunk, boolean logits) {
        MambaConfig c = w.config;
        float[][][] out = new float[seqs.length][2][];
        try (MambaModel m = new MambaModel(w, be); Runner r = m.newRunner(lanes, chunk)) {
            for (int s0 = 0; s0 < seqs.length; s0 += lanes) {
                int n = Math.min(lanes, seqs.length - s0);
                int max = 0;
                for (int i = 0; i < n; i++) {
                    max = Math.max(max, seqs[s0 + i].length);
                    out[s0 + i][0] = new float[seqs[s0 + i].length * c.hiddenSize];
                    out[s0 + i][1] = logits ? new float[seqs[s0 + i].length * c.vocabSize] : null;
                }
                for (int b = 0; b < lanes; b++) {
                    r.reset(b);
                }
                for (int pos = 0; pos < max; pos += chunk) {
                    ForwardBatch fb = new ForwardBatch(lanes, chunk);
                    fb.tokens = new int[lanes * chunk];
                    for (int i = 0; i < n; i++) {
                        int[] s = seqs[s0 + i];
                        int len = Math.max(0, Math.min(chunk, s.length - pos));
                        fb.lens[i] = len;
                        System.arraycopy(s, Math.min(pos, s.length), fb.tokens, i * chunk, len);
                    }
                    ForwardResult res = r.forward(fb, logits ? EnumSet.of(Output.HIDDEN, Output.LOGITS) : EnumSet.of(Output.HIDDEN));
                    for (int i = 0; i < n; i++) {
                        int len = fb.lens[i];
                        if (len == 0) {
                            continue; // arraycopy rejects a start past the end even for 0 elements
                        }
                        System.arraycopy(res.hidden, i * chunk * c.hiddenSize, out[s0 + i][0], pos * c.hiddenSize, len * c.hiddenSize);
                        if (logits) {
                            System.arraycopy(res.logits, i * chunk * c.vocabSize, out[s0 + i][1], pos * c.vocabSize, len * c.vocabSize);
                        }
                    }
                }
            }
        }
        return out;
    }

    static int[][] sequences(Random rnd, int vocab, int... lengths) {
        int[][] s = new int[lengths.length][];
        for (int i = 0; i < lengths.length; i++) {
            s[i] = new int[lengths[i]];
            for (int t = 0; t < lengths[i]; t++) {
                s[i][t] = rnd.nextInt(vocab);
            }
        }
        return s;
    }

    /** BF16_RESIDUAL: bf16 with out_proj adding into the residual (the order the backend takes for large batches). */
    @ParameterizedTest
    @ValueSource(strings = {"FP32", "TF32", "BF16", "BF16_RESIDUAL"})
    void cudaMatchesCpuOnRandomModels(String precision) {
        requireCuda();
        boolean residual = precision.equals("BF16_RESIDUAL");
        Precision p = residual ? Precision.BF16 : Precision.valueOf(precision);
        if (residual) {
            System.setProperty("mamba.cuda.residualInLinear", "true");
        }
        try {
            cudaMatchesCpu(p);
        } finally {
            System.clearProperty("mamba.cuda.residualInLinear");
        }
    }

    private void cudaMatchesCpu(Precision p) {
        MambaConfig[] cfgs = {
                new MambaConfig(ModelFamily.TOKENS, 40, 2, 37, 8, 3, 120, 5, true, true, 1e-5f, true, false, 0, 0),
                new MambaConfig(ModelFamily.TOKENS, 128, 3, 300, 16, 4, 256, 8, true, false, 1e-5f, true, true, 0, 0)};
        for (MambaConfig cfg : cfgs) {
            MambaWeights w = RandomCheckpoint.random(cfg, 17);
            int[][] seqs = sequences(new Random(4), cfg.vocabSize, 1, 31, 32, 33, 4097, 255, 256, 257, 1000);
            float[][][] cpu, gpu;
            try (CpuBackend be = new CpuBackend(0)) {
                cpu = run(be, w, seqs, 4, 256, true);
            }
            try (Backend be = Backends.open(BackendChoice.CUDA, 0, p, 1)) {
                gpu = run(be, w, seqs, 4, 256, true);
                assertEquals(0, be.bytesAllocated(), "device bytes left after closing model and runner");
            }
            for (int i = 0; i < seqs.length; i++) {
                double eh = Fixtures.relErr(gpu[i][0], cpu[i][0]), el = Fixtures.relErr(gpu[i][1], cpu[i][1]);
                System.out.printf("%s hidden %d len %d: hidden %.2e logits %.2e%n", p, cfg.hiddenSize, seqs[i].length, eh, el);
                assertTrue(eh <= tolerance(p) && el <= tolerance(p), p + " len " + seqs[i].length + ": hidden " + eh + " logits " + el);
            }
        }
    }

    @Test
    void chunkInvarianceOnTheGpu() {
        requireCuda();
        MambaConfig cfg = new MambaConfig(ModelFamily.TOKENS, 64, 2, 50, 16, 4, 128, 4, true, false, 1e-5f, true, true, 0, 0);
        MambaWeights w = RandomCheckpoint.random(cfg, 23);
        int[][] seqs = sequences(new Random(8), cfg.vocabSize, 4097, 1500, 33);
        try (Backend be = Backends.open(BackendChoice.CUDA, 0, Precision.FP32, 1)) {
            float[][][] one = run(be, w, seqs, 3, 4097, false);
            for (int chunk : new int[]{1, 2, 3, 17, 64, 1000, 4096}) {
                float[][][] ch = run(be, w, chunk == 1 ? new int[][]{java.util.Arrays.copyOf(seqs[2], 33)} : seqs, 3, chunk, false);
                for (int i = 0; i < ch.length; i++) {
                    double e = Fixtures.relErr(ch[i][0], one[chunk == 1 ? 2 : i][0]);
                    assertTrue(e <= 1e-5, "chunk " + chunk + " seq " + i + ": " + e);
                }
            }
            assertEquals(0, be.bytesAllocated());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"odd_shapes", "tied_auto_rank", "bf16_saved", "bare_model_sharded"})
    void transformersFixturesOnTheGpu(String name) throws Exception {
        requireCuda();
        Path dir = Fixtures.dir(name);
        List<int[]> lines = Fixtures.tokens(dir);
        try (Backend be = Backends.open(BackendChoice.CUDA, 0, Precision.FP32, 1)) {
            MambaWeights w = dev.mamba.pipeline.checkpoint.CheckpointLoader.load(dir);
            boolean head = w.lmHead != null;
            float[][][] got = run(be, w, lines.toArray(new int[0][]), 2, 512, head);
            for (int i = 0; i < lines.size(); i++) {
                HostTensor eh = Fixtures.expected(dir.resolve("expected.safetensors"), "last_hidden_state." + i);
                double e = Fixtures.relErr(got[i][0], eh.data);
                assertTrue(e <= 1e-4, name + " line " + i + ": " + e);
                if (head) {
                    HostTensor el = Fixtures.expected(dir.resolve("expected.safetensors"), "logits." + i);
                    assertTrue(Fixtures.relErr(got[i][1], el.data) <= 1e-4, name + " logits line " + i);
                }
            }
            assertEquals(0, be.bytesAllocated());
        }
    }
}
