package dev.mamba.pipeline.batch;

import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.model.ForwardResult;

/** Receives what the scheduler computes, sequence by sequence, in each sequence's order. */
public interface ResultSink {

    /** A new sequence got a lane (set {@code s.attachment} here). */
    default void sequenceStarted(SequenceSlot s) {
    }

    /**
     * A chunk went through the model: its steps are rows {@code lane·r.steps + t}, {@code t < c.length()},
     * of the result arrays.
     */
    void chunkDone(SequenceSlot s, Chunk c, ForwardResult r, int lane);

    /** The sequence's last chunk is done. */
    void sequenceDone(SequenceSlot s);

    /**
     * The sequence cannot be processed; {@code position} is the step where it stopped (chunks before it
     * may already have been reported). Its remaining chunks are skipped.
     */
    void sequenceFailed(String id, String file, long position, String reason);
}
