package dev.mamba.pipeline.batch;

import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.io.InputFormatException;
import dev.mamba.pipeline.io.vocab.UnknownSymbolException;
import dev.mamba.pipeline.model.ForwardResult;
import dev.mamba.pipeline.model.Output;
import dev.mamba.pipeline.model.Runner;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.IntVector;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Interleaves many sequences' chunks in the lanes of one {@link Runner}: each sequence owns a lane
 * (its state stays there) from its first chunk to its last; one forward call takes the next chunk of
 * every lane that has one; lanes of unequal length run as ragged lanes, so padding never touches a
 * state. Inputs reach the backend as Arrow vectors (off-heap, no boxing).
 *
 * <p>Chunks of a sequence must arrive in order; different sequences may interleave arbitrarily. Host
 * memory is bounded by the lanes' states (on the backend), one batch of Arrow buffers and the chunks
 * waiting for a lane ({@code pendingLimit} chunks before batches are forced), independent of sequence
 * length and count. Not thread-safe: one scheduler per task.
 */
public final class LaneScheduler implements AutoCloseable {
    private final Runner runner;
    private final StepEncoder enc;
    private final ResultSink sink;
    private final EnumSet<Output> outputs;
    private final boolean needTargets;
    private final int lanes;
    private final int maxSteps;
    private final int pendingLimit;
    private final IntVector ints;
    private final Float4Vector feats;

    private final SequenceSlot[] laneSlot;
    private final ArrayDeque<Chunk>[] queue;
    private final Map<String, SequenceSlot> active = new HashMap<>();
    private final ArrayDeque<SequenceSlot> pending = new ArrayDeque<>();
    private final Map<SequenceSlot, ArrayDeque<Chunk>> pendingChunks = new HashMap<>();
    private final Set<String> failed = new HashSet<>();
    private int buffered;
    private boolean inputEnded;

    /** Counters for progress and efficiency reports. */
    public long batches, stepsRun, computedSteps, chunksRun, sequencesDone, sequencesFailed;
    /** Wall time inside the runner's forward calls, and System.nanoTime() when the first one began (0: none yet). */
    public long forwardNanos, firstForwardAt;

    @SuppressWarnings("unchecked")
    public LaneScheduler(Runner runner, StepEncoder enc, ResultSink sink, Set<Output> outputs,
                         BufferAllocator allocator, int pendingLimit) {
        this.runner = runner;
        this.enc = enc;
        this.sink = sink;
        this.outputs = outputs.isEmpty() ? EnumSet.noneOf(Output.class) : EnumSet.copyOf(outputs);
        this.needTargets = outputs.contains(Output.NLL);
        this.lanes = runner.lanes();
        this.maxSteps = runner.maxSteps();
        this.pendingLimit = Math.max(pendingLimit, 2 * lanes);
        this.laneSlot = new SequenceSlot[lanes];
        this.queue = new ArrayDeque[lanes];
        for (int b = 0; b < lanes; b++) {
            queue[b] = new ArrayDeque<>();
        }
        int rows = lanes * maxSteps;
        ints = new IntVector("inputs", allocator);
        feats = enc.tokens() ? null : new Float4Vector("features", allocator);
        try {
            ints.allocateNew(lanes + 2 * rows);
            if (feats != null) {
                feats.allocateNew(Math.multiplyExact(rows, enc.features()));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private static String key(Chunk c) {
        return c.file() + '\0' + c.sequenceId();
    }

    /** Feeds one chunk; runs forward calls whenever every busy lane has work. */
    public void accept(Chunk c) {
        if (inputEnded) {
            throw new IllegalStateException("accept after finish");
        }
        String k = key(c);
        if (failed.contains(k)) {
            if (c.last()) {
                failed.remove(k);
            }
            return;
        }
        SequenceSlot s = active.get(k);
        if (s != null && s.deferredReason != null && c.chunkIndex() == 0) {
            // a new record under the id of one whose failure waits for its queued chunks: that one ends here
            failDeferred(s);
            s = null;
        }
        if (s == null) {
            if (c.chunkIndex() != 0) {
                fail(null, c.sequenceId(), c.file(), c.start(), "chunk " + c.chunkIndex()
                        + " arrived without the chunks before it (chunks of a sequence must come in order)", !c.last(), k);
                return;
            }
            if (c.length() == 0) {
                fail(null, c.sequenceId(), c.file(), 0, "empty sequence (0 steps)", !c.last(), k);
                return;
            }
            s = new SequenceSlot(c.sequenceId(), c.file());
            active.put(k, s);
            int free = freeLane();
            if (free >= 0) {
                assign(s, free);
            } else {
                pending.add(s);
                pendingChunks.put(s, new ArrayDeque<>());
            }
        } else if (c.chunkIndex() != s.nextChunkIndex) {
            // Chunk 0 here is a second record with an active one's id; sources drop such records first
            // (DuplicateIdFilter): interleaved, the two records' chunks could not be told apart here.
            throw new IllegalStateException(c.file() + ": sequence " + c.sequenceId() + " has chunk "
                    + c.chunkIndex() + " where chunk " + s.nextChunkIndex + " was expected"
                    + (c.chunkIndex() == 0 ? " (duplicate sequence id: ids must be unique within a file)" : ""));
        }
        s.nextChunkIndex++;
        ArrayDeque<Chunk> q = s.lane >= 0 ? queue[s.lane] : pendingChunks.get(s);
        if (c.length() <= maxSteps) {
            q.add(c);
            buffered++;
        } else {
            // A chunk longer than one call's steps runs as consecutive pieces (the state carries over).
            for (int off = 0; off < c.length(); off += maxSteps) {
                q.add(piece(c, off, Math.min(maxSteps, c.length() - off)));
                buffered++;
            }
        }
        pump();
    }

    private static Chunk piece(Chunk c, int off, int n) {
        boolean last = c.last() && off + n == c.length();
        if (c.isText()) {
            return Chunk.text(c.sequenceId(), c.file(), c.chunkIndex(), c.start() + off, n, last,
                    java.util.Arrays.copyOfRange(c.symbols(), off, off + n));
        }
        int k = c.features();
        return Chunk.numeric(c.sequenceId(), c.file(), c.chunkIndex(), c.start() + off, n, last,
                java.util.Arrays.copyOfRange(c.values(), off * k, (off + n) * k), k);
    }

    /**
     * Stops a sequence from outside (its input turned out bad): reports the failure, frees its lane and
     * skips its remaining chunks. {@code moreComing}: whether chunks of it may still arrive. Chunks of it
     * that arrived before the failure are valid input (they end before the failing position) and run first,
     * so that what a sequence leaves behind (score's per-step rows) does not depend on how far the lanes had
     * got, nor on the chunk length.
     */
    public void abort(String id, String file, long position, String reason, boolean moreComing) {
        String k = file + '\0' + id;
        if (failed.contains(k)) {
            return;
        }
        SequenceSlot s = active.get(k);
        if (s != null && s.deferredReason == null && queued(s) > 0) {
            s.deferredReason = reason;
            s.deferredPosition = position;
            if (moreComing) {
                failed.add(k);  // its later chunks are skipped from now on
            }
            pump();
            return;
        }
        fail(s, id, file, position, reason, moreComing, k);
    }

    /** Reports the failure {@link #abort} deferred until the sequence's queued chunks had run. */
    private void failDeferred(SequenceSlot s) {
        fail(s, s.id, s.file, s.deferredPosition, s.deferredReason, false, null);
    }

    private int queued(SequenceSlot s) {
        return s.lane >= 0 ? queue[s.lane].size() : pendingChunks.get(s).size();
    }

    /**
     * Reports a record that never reached the scheduler (the source skipped it whole, e.g. a duplicate id):
     * unlike {@link #abort}, a sequence running under the same id goes on.
     */
    public void reject(String id, String file, long position, String reason) {
        sequencesFailed++;
        sink.sequenceFailed(id, file, position, reason);
    }

    /** Input is over: runs everything still queued and reports sequences that never got their last chunk. */
    public void finish() {
        inputEnded = true;
        while (true) {
            fillFreeLanes();
            pump();  // runs every queued chunk of the sequences in lanes
            if (pending.isEmpty()) {
                break;
            }
            // The sequences left in lanes get no more chunks: ending them hands their lanes to the waiting ones
            // (a snapshot: a lane freed here is refilled at once, and its new sequence must run first).
            int ended = 0;
            for (SequenceSlot s : laneSlot.clone()) {
                if (s != null) {
                    endUnfinished(s);
                    ended++;
                }
            }
            if (ended == 0) {
                break;  // not reached: sequences wait for a lane only while every lane is taken
            }
        }
        for (SequenceSlot s : active.values().toArray(new SequenceSlot[0])) {
            endUnfinished(s);
        }
    }

    private void endUnfinished(SequenceSlot s) {
        if (s.deferredReason != null) {
            failDeferred(s);
        } else {
            fail(s, s.id, s.file, s.stepsDone, "input ended before the sequence's last chunk", false, null);
        }
    }

    private int freeLane() {
        for (int b = 0; b < lanes; b++) {
            if (laneSlot[b] == null) {
                return b;
            }
        }
        return -1;
    }

    private void assign(SequenceSlot s, int lane) {
        runner.reset(lane);
        laneSlot[lane] = s;
        s.lane = lane;
        sink.sequenceStarted(s);
    }

    private boolean dispatchable(int b) {
        ArrayDeque<Chunk> q = queue[b];
        if (q.isEmpty()) {
            return false;
        }
        // with targets a chunk waits for the next one's first symbol, unless none will come
        return !needTargets || inputEnded || q.peek().last() || q.size() >= 2 || laneSlot[b].deferredReason != null;
    }

    private void pump() {
        while (true) {
            int busy = 0, ready = 0;
            for (int b = 0; b < lanes; b++) {
                if (laneSlot[b] != null) {
                    busy++;
                    if (dispatchable(b)) {
                        ready++;
                    }
                }
            }
            if (ready == 0) {
                return;
            }
            // Wait until every lane holds a sequence with work: a call with idle lanes costs as much as a
            // full one (the lanes' padding is computed too). Input ending or the buffer limit force a call.
            boolean full = ready == busy && busy == lanes;
            if (full || inputEnded || buffered > pendingLimit) {
                runBatch();
            } else {
                return;
            }
        }
    }

    private void runBatch() {
        Chunk[] batch = new Chunk[lanes];
        int steps = 1, used = 0;
        for (int b = 0; b < lanes; b++) {
            if (laneSlot[b] != null && dispatchable(b)) {
                batch[b] = queue[b].poll();
                buffered--;
                steps = Math.max(steps, batch[b].length());
                used = b + 1;
            }
        }
        if (used == 0) {
            return;
        }
        // Only lanes [0, used) go to the backend: lanes are handed out lowest first, so a task with
        // fewer sequences than lanes computes only what it has.
        final int rows = used * steps;
        ArrowBuf buf = ints.getDataBuffer();
        long idBase = 4L * used, tgBase = 4L * (used + rows);
        buf.setZero(0, 4L * (used + rows));          // lens and padding ids = 0
        for (long i = 0; i < rows; i++) {
            buf.setInt(tgBase + 4 * i, -1);             // no target unless set below
        }
        ArrowBuf fbuf = feats == null ? null : feats.getDataBuffer();
        if (fbuf != null) {
            fbuf.setZero(0, 4L * rows * enc.features());
        }
        int[] lens = new int[used];
        // lanes whose sequence fails after this batch (a bad symbol inside the chunk), and whether chunks follow
        UnknownSymbolException[] failAfter = new UnknownSymbolException[used];
        boolean[] moreAfter = new boolean[used];
        for (int b = 0; b < used; b++) {
            Chunk c = batch[b];
            if (c == null) {
                continue;
            }
            SequenceSlot s = laneSlot[b];
            try {
                if (enc.tokens()) {
                    enc.encodeTokens(c, s, buf, idBase + 4L * b * steps);
                    if (needTargets) {
                        long row0 = (long) b * steps;
                        for (int t = 0; t + 1 < c.length(); t++) {
                            buf.setInt(tgBase + 4 * (row0 + t), buf.getInt(idBase + 4 * (row0 + t + 1)));
                        }
                        int next = c.last() || queue[b].isEmpty() ? -1 : enc.firstToken(queue[b].peek());
                        buf.setInt(tgBase + 4 * (row0 + c.length() - 1), next);
                    }
                } else {
                    enc.encodeFeatures(c, s, fbuf, 4L * b * steps * enc.features());
                }
            } catch (InputFormatException e) {
                long at = e instanceof UnknownSymbolException
                        ? ((UnknownSymbolException) e).position() : c.start();
                int prefix = (int) (at - c.start());
                if (prefix <= 0 || prefix >= c.length()) {
                    batch[b] = null;
                    fail(s, s.id, s.file, at, e.getMessage(), !c.last(), null);
                    continue;
                }
                // The steps before the bad symbol are valid input: they run (score keeps their rows, every step
                // before the failing position, whatever the chunk length), then the sequence fails. The encoder
                // wrote their ids before it threw; the last one's target stays -1 (the next symbol is the bad one).
                batch[b] = Chunk.text(c.sequenceId(), c.file(), c.chunkIndex(), c.start(), prefix, false,
                        java.util.Arrays.copyOf(c.symbols(), prefix));
                failAfter[b] = (UnknownSymbolException) e;
                moreAfter[b] = !c.last();
                if (needTargets) {
                    long row0 = (long) b * steps;
                    for (int t = 0; t + 1 < prefix; t++) {
                        buf.setInt(tgBase + 4 * (row0 + t), buf.getInt(idBase + 4 * (row0 + t + 1)));
                    }
                }
                c = batch[b];
            }
            lens[b] = c.length();
            buf.setInt(4L * b, c.length());
        }
        boolean any = false;
        for (int b = 0; b < used; b++) {
            any |= batch[b] != null;
        }
        if (!any) {
            return;
        }
        ByteBuffer packed = buf.nioBuffer(0, (int) (4L * (used + 2 * rows))).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer features = fbuf == null ? null
                : fbuf.nioBuffer(0, (int) (4L * rows * enc.features())).order(ByteOrder.LITTLE_ENDIAN);
        long f0 = System.nanoTime();
        if (firstForwardAt == 0) {
            firstForwardAt = f0;
        }
        ForwardResult r = runner.forwardPacked(steps, packed, features, lens, outputs);
        forwardNanos += System.nanoTime() - f0;
        batches++;
        for (int b = 0; b < used; b++) {
            Chunk c = batch[b];
            if (c == null) {
                continue;
            }
            SequenceSlot s = laneSlot[b];
            stepsRun += c.length();
            chunksRun++;
            s.stepsDone += c.length();
            s.chunksDone++;
            sink.chunkDone(s, c, r, b);
            if (failAfter[b] != null) {
                fail(s, s.id, s.file, failAfter[b].position(), failAfter[b].getMessage(), moreAfter[b], null);
                continue;
            }
            if (s.deferredReason != null && queue[b].isEmpty()) {  // the chunks before its failure have run
                failDeferred(s);
                continue;
            }
            if (c.last()) {
                sink.sequenceDone(s);
                sequencesDone++;
                release(s);
            }
        }
        computedSteps += rows;
        fillFreeLanes();
    }

    private void release(SequenceSlot s) {
        active.values().remove(s);
        if (s.lane >= 0) {
            buffered -= queue[s.lane].size();
            queue[s.lane].clear();
            laneSlot[s.lane] = null;
            s.lane = -1;
        } else if (pendingChunks.containsKey(s)) {
            buffered -= pendingChunks.remove(s).size();
            pending.remove(s);
        }
    }

    private void fillFreeLanes() {
        for (int b = 0; b < lanes && !pending.isEmpty(); b++) {
            if (laneSlot[b] == null) {
                SequenceSlot s = pending.poll();
                assign(s, b);
                queue[b].addAll(pendingChunks.remove(s));
            }
        }
    }

    /** Reports a failure and skips the sequence's remaining chunks (when more are coming). */
    private void fail(SequenceSlot s, String id, String file, long position, String reason, boolean moreComing,
                      String key) {
        sequencesFailed++;
        sink.sequenceFailed(id, file, position, reason);
        if (s != null) {
            release(s);
            key = file + '\0' + id;
            fillFreeLanes();
        }
        if (moreComing && key != null) {
            failed.add(key);
        }
    }

    @Override
    public void close() {
        ints.close();
        if (feats != null) {
            feats.close();
        }
    }
}
