package dev.mamba.pipeline.batch;

import dev.mamba.kernels.cpu.CpuBackend;
import dev.mamba.pipeline.checkpoint.MambaWeights;
import dev.mamba.pipeline.config.MambaConfig;
import dev.mamba.pipeline.config.ModelFamily;
import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.io.InputFormatException;
import dev.mamba.pipeline.model.ForwardBatch;
import dev.mamba.pipeline.model.ForwardResult;
import dev.mamba.pipeline.model.MambaModel;
import dev.mamba.pipeline.model.Output;
import dev.mamba.pipeline.model.Runner;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.RootAllocator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LaneSchedulerTest {
    private CpuBackend backend;
    private RootAllocator allocator;

    @BeforeEach
    void open() {
        backend = new CpuBackend(2);
        allocator = new RootAllocator();
    }

    @AfterEach
    void close() {
        allocator.close(); // fails the test if an Arrow buffer leaked
        backend.close();
    }

    /** Symbols 'a' + id; anything else is an error naming the position. */
    static final class Letters implements StepEncoder {
        final int vocab;

        Letters(int vocab) {
            this.vocab = vocab;
        }

        @Override
        public boolean tokens() {
            return true;
        }

        @Override
        public void encodeTokens(Chunk c, SequenceSlot s, ArrowBuf buf, long off) throws InputFormatException {
            for (int t = 0; t < c.length(); t++) {
                int id = c.symbols()[t] - 'a';
                if (id < 0 || id >= vocab) {
                    throw InputFormatException.atRecord(c.file(), c.sequenceId(), "position " + (c.start() + t)
                            + ": symbol " + InputFormatException.describeByte(c.symbols()[t]) + " not in vocabulary");
                }
                buf.setInt(off + 4L * t, id);
            }
        }

        @Override
        public int firstToken(Chunk c) {
            int id = c.length() == 0 ? -1 : c.symbols()[0] - 'a';
            return id >= 0 && id < vocab ? id : -1;
        }
    }

    static final class Collect implements ResultSink {
        final int hidden;
        final Map<String, List<float[]>> rows = new HashMap<>();
        final Map<String, List<Float>> nll = new HashMap<>();
        final Map<String, String> failures = new HashMap<>();
        final List<String> done = new ArrayList<>();

        Collect(int hidden) {
            this.hidden = hidden;
        }

        @Override
        public void chunkDone(SequenceSlot s, Chunk c, ForwardResult r, int lane) {
            for (int t = 0; t < c.length(); t++) {
                int row = lane * r.steps + t;
                rows.computeIfAbsent(s.id, k -> new ArrayList<>())
                        .add(java.util.Arrays.copyOfRange(r.hidden, row * hidden, (row + 1) * hidden));
                if (r.nll != null) {
                    nll.computeIfAbsent(s.id, k -> new ArrayList<>()).add(r.nll[row]);
                }
            }
        }

        @Override
        public void sequenceDone(SequenceSlot s) {
            done.add(s.id);
        }

        @Override
        public void sequenceFailed(String id, String file, long position, String reason) {
            failures.put(id, position + ": " + reason);
        }
    }

    /** A small token model (hidden 24, 2 layers, vocab 6): every test here runs one. */
    static final MambaConfig SMALL = new MambaConfig(ModelFamily.TOKENS, 24, 2, 6, 8, 4, 48, 2, true, false, 1e-5f, true,
            true, 0, 0);

    private LaneScheduler scheduler(Runner r, Collect sink, Set<Output> outputs) {
        return new LaneScheduler(r, new Letters(6), sink, outputs, allocator, 64);
    }

    static List<Chunk> chunks(String id, String seq, int chunk) {
        List<Chunk> out = new ArrayList<>();
        for (int s = 0, i = 0; s < seq.length() || (s == 0 && seq.isEmpty()); s += chunk, i++) {
            int n = Math.min(chunk, seq.length() - s);
            out.add(Chunk.text(id, "f.txt", i, s, n, s + n >= seq.length(),
                    seq.substring(s, s + n).getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
            if (seq.isEmpty()) {
                break;
            }
        }
        return out;
    }

    @Test
    void interleavedLanesEqualOnePassPerSequence() {
        MambaConfig cfg = SMALL;
        MambaWeights w = dev.mamba.pipeline.model.TestWeightsAccess.random(cfg, 4);
        Random rnd = new Random(8);
        Map<String, String> seqs = new HashMap<>();
        List<List<Chunk>> streams = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            int len = 1 + rnd.nextInt(i == 0 ? 300 : 60);
            StringBuilder sb = new StringBuilder();
            for (int t = 0; t < len; t++) {
                sb.append((char) ('a' + rnd.nextInt(6)));
            }
            seqs.put("s" + i, sb.toString());
            streams.add(chunks("s" + i, sb.toString(), i % 3 == 0 ? 40 : 16)); // 40 > 16 steps: split into pieces
        }
        seqs.put("bad", "abcabcabzabc");
        streams.add(chunks("bad", "abcabcabzabcabcabcabcabc", 8));
        streams.add(chunks("empty", "", 8));
        // random interleaving that keeps each sequence's order
        List<Chunk> order = new ArrayList<>();
        int[] pos = new int[streams.size()];
        while (true) {
            List<Integer> open = new ArrayList<>();
            for (int i = 0; i < streams.size(); i++) {
                if (pos[i] < streams.get(i).size()) {
                    open.add(i);
                }
            }
            if (open.isEmpty()) {
                break;
            }
            int i = open.get(rnd.nextInt(Math.min(open.size(), 4)));
            order.add(streams.get(i).get(pos[i]++));
        }
        Collect sink = new Collect(cfg.hiddenSize);
        try (MambaModel m = new MambaModel(w, backend); Runner r3 = m.newRunner(3, 16);
             LaneScheduler sch = new LaneScheduler(r3, new Letters(6), sink, EnumSet.of(Output.HIDDEN, Output.NLL),
                     allocator, 8)) {
            for (Chunk c : order) {
                sch.accept(c);
            }
            sch.finish();
            assertTrue(sink.failures.get("bad").startsWith("8: ") && sink.failures.get("bad").contains("'z'"),
                    String.valueOf(sink.failures));
            assertTrue(sink.failures.get("empty").contains("empty sequence"), String.valueOf(sink.failures));
            assertEquals(2, sink.failures.size(), String.valueOf(sink.failures));
            assertEquals(9, sink.done.size());
            try (Runner one = m.newRunner(1, 400)) {
                for (int i = 0; i < 9; i++) {
                    String s = seqs.get("s" + i);
                    ForwardBatch b = new ForwardBatch(1, s.length());
                    b.lens[0] = s.length();
                    b.tokens = new int[s.length()];
                    b.targets = new int[s.length()];
                    for (int t = 0; t < s.length(); t++) {
                        b.tokens[t] = s.charAt(t) - 'a';
                        b.targets[t] = t + 1 < s.length() ? s.charAt(t + 1) - 'a' : -1;
                    }
                    one.reset(0);
                    ForwardResult ref = one.forward(b, EnumSet.of(Output.HIDDEN, Output.NLL));
                    List<float[]> got = sink.rows.get("s" + i);
                    assertEquals(s.length(), got.size());
                    for (int t = 0; t < s.length(); t++) {
                        for (int j = 0; j < cfg.hiddenSize; j++) {
                            assertEquals(ref.hidden[t * cfg.hiddenSize + j], got.get(t)[j], 1e-5, "s" + i + " t" + t);
                        }
                        float gotNll = sink.nll.get("s" + i).get(t);
                        if (t + 1 < s.length()) {
                            assertEquals(ref.nll[t], gotNll, 1e-4, "nll s" + i + " t" + t);
                        } else {
                            assertTrue(Float.isNaN(gotNll));
                        }
                    }
                }
            }
        }
        assertEquals(0, backend.bytesAllocated());
    }

    /**
     * A failure reported from outside (a bad row the source found) while chunks of the sequence still wait for a
     * lane: those chunks end before the failing position, so they run first, whether the sequence had a lane yet
     * or not, and only then is the failure reported; a chunk of it that comes after the failure is skipped.
     */
    @Test
    void abortRunsTheChunksQueuedBeforeIt() {
        MambaConfig cfg = SMALL;
        MambaWeights w = dev.mamba.pipeline.model.TestWeightsAccess.random(cfg, 5);
        Collect sink = new Collect(cfg.hiddenSize);
        try (MambaModel m = new MambaModel(w, backend); Runner r1 = m.newRunner(1, 16);
             LaneScheduler sch = scheduler(r1, sink, EnumSet.of(Output.HIDDEN, Output.NLL))) {
            List<Chunk> busy = chunks("busy", "abcdefabcdefabcdefabcdef", 8);
            List<Chunk> late = chunks("late", "fedcbafedcbafedcba", 6);
            sch.accept(busy.get(0));
            sch.accept(late.get(0));          // waits: the one lane is busy's
            sch.accept(late.get(1));
            sch.abort("late", "f.txt", 12, "row 12 is bad", true);
            assertTrue(sink.failures.isEmpty(), "reported only after its queued chunks ran: " + sink.failures);
            sch.accept(late.get(2));          // after the failure: skipped
            for (int i = 1; i < busy.size(); i++) {
                sch.accept(busy.get(i));
            }
            sch.finish();
            assertEquals("12: row 12 is bad", sink.failures.get("late"));
            assertEquals(1, sink.failures.size(), String.valueOf(sink.failures));
            assertEquals(List.of("busy"), sink.done);
            assertEquals(12, sink.rows.get("late").size(), "every step before the failing row ran");
            assertEquals(24, sink.rows.get("busy").size());
            List<Float> nll = sink.nll.get("late");
            assertTrue(Float.isNaN(nll.get(11)), "the last step before the failure has no target");
            try (Runner one = m.newRunner(1, 16)) {
                ForwardBatch b = new ForwardBatch(1, 12);
                b.lens[0] = 12;
                b.tokens = new int[12];
                b.targets = new int[12];
                for (int t = 0; t < 12; t++) {
                    b.tokens[t] = "fedcbafedcba".charAt(t) - 'a';
                    b.targets[t] = t + 1 < 12 ? "fedcbafedcba".charAt(t + 1) - 'a' : -1;
                }
                one.reset(0);
                ForwardResult ref = one.forward(b, EnumSet.of(Output.HIDDEN, Output.NLL));
                for (int t = 0; t < 12; t++) {
                    for (int j = 0; j < cfg.hiddenSize; j++) {
                        assertEquals(ref.hidden[t * cfg.hiddenSize + j], sink.rows.get("late").get(t)[j], 1e-5, "t" + t);
                    }
                    if (t < 11) {
                        assertEquals(ref.nll[t], nll.get(t), 1e-4, "nll t" + t);
                    }
                }
            }
        }
        assertEquals(0, backend.bytesAllocated());
    }

    /**
     * At the end of input a sequence whose failure waits for its queued chunks still gets a lane, runs them and is
     * reported with its own failure, even while the lanes are held by sequences that never got their last chunk.
     */
    @Test
    void aDeferredFailureWaitingForALaneIsReportedAtTheEnd() {
        Collect sink = hiddenRun(1, sch -> {
            sch.accept(chunks("a", "abcdefabcdef", 6).get(0));   // a never gets its last chunk
            sch.accept(chunks("b", "fedcbafedcba", 6).get(0));   // waits for the lane
            sch.abort("b", "f.txt", 6, "row 6 is bad", false);
            sch.finish();
        });
        assertEquals("6: row 6 is bad", sink.failures.get("b"), String.valueOf(sink.failures));
        assertEquals(6, sink.rows.get("b").size(), "b's chunk before the bad row ran");
        assertTrue(sink.failures.get("a").contains("input ended before the sequence's last chunk"));
    }

    /** Drives a scheduler of {@code lanes} lanes (SMALL, random weights of seed 5, hidden states) and checks for leaks. */
    private Collect hiddenRun(int lanes, java.util.function.Consumer<LaneScheduler> steps) {
        Collect sink = new Collect(SMALL.hiddenSize);
        try (MambaModel m = new MambaModel(dev.mamba.pipeline.model.TestWeightsAccess.random(SMALL, 5), backend);
             Runner r = m.newRunner(lanes, 16); LaneScheduler sch = scheduler(r, sink, EnumSet.of(Output.HIDDEN))) {
            steps.accept(sch);
        }
        assertEquals(0, backend.bytesAllocated());
        return sink;
    }

    /** A new record under the id of one whose failure is deferred starts afresh (the old one is reported). */
    @Test
    void aNewRecordUnderADeferredFailuresIdStartsAfresh() {
        List<Chunk> b = chunks("b", "fedcbafedcba", 6);
        Collect sink = hiddenRun(2, sch -> {
            sch.accept(chunks("a", "abcdefabcdef", 6).get(0));   // holds the other lane, so nothing runs yet
            sch.accept(b.get(0));
            sch.abort("b", "f.txt", 6, "bad", true);
            sch.accept(b.get(1));                       // the old record's last chunk: skipped
            sch.accept(chunks("b", "abc", 6).get(0));   // a new record b
            sch.finish();
        });
        assertEquals("6: bad", sink.failures.get("b"), String.valueOf(sink.failures));
        assertTrue(sink.done.contains("b"), "the new b ran to its end: " + sink.done);
    }
}
