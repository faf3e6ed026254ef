package dev.mamba.tests;

import dev.mamba.jobs.cli.Main;
import dev.mamba.kernels.cpu.CpuBackend;
import dev.mamba.pipeline.checkpoint.HostTensor;
import dev.mamba.pipeline.model.ForwardBatch;
import dev.mamba.pipeline.model.ForwardResult;
import dev.mamba.pipeline.model.MambaModel;
import dev.mamba.pipeline.model.Output;
import dev.mamba.pipeline.model.Runner;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Java model against Hugging Face transformers' MambaModel / MambaForCausalLM (float64 reference,
 * fixtures made by tests/conformance/make_fixtures.py): one pass, chunked passes, and the forward command.
 */
class ConformanceTest {
    private CpuBackend backend;

    @BeforeEach
    void open() {
        backend = new CpuBackend(2);
    }

    @AfterEach
    void close() {
        backend.close();
    }

    /** Hidden states and logits of one sequence, run in pieces of {@code chunk} with the state carried. */
    static float[][] run(Runner r, int[] seq, int chunk, boolean head, int hidden, int vocab) {
        float[] hs = new float[seq.length * hidden];
        float[] lg = head ? new float[seq.length * vocab] : null;
        r.reset(0);
        for (int s = 0; s < seq.length; s += chunk) {
            int n = Math.min(chunk, seq.length - s);
            ForwardBatch b = new ForwardBatch(1, n);
            b.lens[0] = n;
            b.tokens = java.util.Arrays.copyOfRange(seq, s, s + n);
            ForwardResult res = r.forward(b, head ? EnumSet.of(Output.HIDDEN, Output.LOGITS) : EnumSet.of(Output.HIDDEN));
            System.arraycopy(res.hidden, 0, hs, s * hidden, n * hidden);
            if (head) {
                System.arraycopy(res.logits, 0, lg, s * vocab, n * vocab);
            }
        }
        return new float[][]{hs, lg};
    }

    @ParameterizedTest
    @ValueSource(strings = {"odd_shapes", "tied_auto_rank", "bf16_saved", "bare_model_sharded"})
    void matchesTransformersAndIsChunkInvariant(String name) throws Exception {
        Path dir = Fixtures.dir(name);
        List<int[]> lines = Fixtures.tokens(dir);
        Path expected = dir.resolve("expected.safetensors");
        try (MambaModel m = MambaModel.load(dir, backend)) {
            boolean head = m.hasLmHead();
            assertEquals(!name.startsWith("bare"), head, "LM head presence");
            int hsz = m.config().hiddenSize, vocab = m.config().vocabSize;
            int maxLen = lines.stream().mapToInt(a -> a.length).max().orElseThrow();
            try (Runner r = m.newRunner(1, maxLen)) {
                for (int i = 0; i < lines.size(); i++) {
                    int[] seq = lines.get(i);
                    float[][] one = run(r, seq, seq.length, head, hsz, vocab);
                    HostTensor eh = Fixtures.expected(expected, "last_hidden_state." + i);
                    double eHidden = Fixtures.relErr(one[0], eh.data);
                    System.out.printf("conformance %s line %d len %d: hidden rel err %.2e%n", name, i, seq.length, eHidden);
                    assertTrue(eHidden <= 1e-4, name + " line " + i + " (len " + seq.length + ") hidden rel err " + eHidden);
                    HostTensor el = Fixtures.expected(expected, "logits." + i);
                    if (head) {
                        assertNotNull(el);
                        double eLogits = Fixtures.relErr(one[1], el.data);
                        System.out.printf("conformance %s line %d len %d: logits rel err %.2e%n", name, i, seq.length, eLogits);
                        assertTrue(eLogits <= 1e-4, name + " line " + i + " logits rel err " + eLogits);
                    } else {
                        assertNull(el);
                    }
                    // Chunk invariance on the longest line (and on every line for cheap chunk sizes).
                    if (seq.length == maxLen || seq.length <= 64) {
                        for (int chunk : new int[]{1, 2, 3, 17, 64, 1000}) {
                            if (chunk >= seq.length && seq.length != maxLen) {
                                continue;
                            }
                            float[][] ch = run(r, seq, chunk, head, hsz, vocab);
                            double ec = Fixtures.relErr(ch[0], one[0]);
                            System.out.printf("chunk %s line %d chunk %d: rel err vs one pass %.2e%n", name, i, chunk, ec);
                            assertTrue(ec <= 1e-5, name + " line " + i + " chunk " + chunk + " vs one pass: " + ec);
                            if (head) {
                                double ecl = Fixtures.relErr(ch[1], one[1]);
                                assertTrue(ecl <= 1e-5, name + " line " + i + " chunk " + chunk + " logits: " + ecl);
                            }
                        }
                    }
                }
            }
        }
        assertEquals(0, backend.bytesAllocated(), "backend bytes left after closing model and runner");
    }

    @ParameterizedTest
    @ValueSource(strings = {"odd_shapes", "bare_model_sharded"})
    void forwardCommandReproducesFixtures(String name, @TempDir Path tmp) throws Exception {
        Path dir = Fixtures.dir(name);
        for (String chunk : new String[]{null, "17"}) {
            Path out = tmp.resolve("out-" + chunk + ".safetensors");
            String[] args = chunk == null
                    ? new String[]{"forward", "--model", dir.toString(), "--tokens", dir.resolve("tokens.txt").toString(),
                    "--output", out.toString(), "--backend", "cpu"}
                    : new String[]{"forward", "--model", dir.toString(), "--tokens", dir.resolve("tokens.txt").toString(),
                    "--output", out.toString(), "--backend", "cpu", "--chunk", chunk};
            assertEquals(0, Main.run(args));
            List<int[]> lines = Fixtures.tokens(dir);
            for (int i = 0; i < lines.size(); i++) {
                for (String t : new String[]{"last_hidden_state.", "logits."}) {
                    HostTensor want = Fixtures.expected(dir.resolve("expected.safetensors"), t + i);
                    HostTensor got = Fixtures.expected(out, t + i);
                    if (want == null) {
                        assertNull(got, t + i);
                        continue;
                    }
                    assertEquals(java.util.Arrays.toString(want.shape), java.util.Arrays.toString(got.shape));
                    double e = Fixtures.relErr(got.data, want.data);
                    assertTrue(e <= 1e-4, name + " " + t + i + " chunk " + chunk + ": " + e);
                }
            }
        }
    }
}
