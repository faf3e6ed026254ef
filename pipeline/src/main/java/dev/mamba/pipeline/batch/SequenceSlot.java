package dev.mamba.pipeline.batch;

/** One sequence while it is being processed: identity, progress, and the job's own accumulator. */
public final class SequenceSlot {
    public final String id;
    public final String file;
    /** Steps already run through the model. */
    public long stepsDone;
    /** Chunks already run. */
    public long chunksDone;
    /** The job's per-sequence state (running sums, normalisation moments …); set by the sink. */
    public Object attachment;
    int lane = -1;
    long nextChunkIndex;
    /** A failure reported while chunks of this sequence were still queued: it is reported after they ran. */
    String deferredReason;
    long deferredPosition;

    SequenceSlot(String id, String file) {
        this.id = id;
        this.file = file;
    }

    @Override
    public String toString() {
        return id + " (" + file + ")";
    }
}
