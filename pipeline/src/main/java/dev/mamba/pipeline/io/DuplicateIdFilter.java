package dev.mamba.pipeline.io;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * Passes a stream's chunks on, except those of a record whose id an earlier record of the same file already
 * had: such a record is read past and reported once (to a {@link Listener}), so the earlier record's output
 * stands and the duplicate is a per-sequence error. Without this, two records with one id either ran as
 * one sequence (chunks of both under one key) or both came out as rows with the same id.
 *
 * <p>All streams a task reads side by side (the byte-range sub-splits of a file, or several whole files)
 * share one {@link SeenIds}, so a duplicate is found whichever stream holds it. "Earlier" is the order the
 * task reads records in: file order within a stream; across the sub-splits of one file read at once, the
 * record read first is the one kept. Records in different {@code --split-size} splits of a file are read
 * by different tasks and are not compared.
 */
public final class DuplicateIdFilter implements ChunkReader {

    /** Told about each duplicate record, at its first chunk. */
    @FunctionalInterface
    public interface Listener {
        void duplicate(String id, String file, String reason);
    }

    /**
     * The ids seen so far, per file, for the life of a task. Every id is kept (a duplicate may come any
     * distance later), as a 128-bit hash ({@link IdHashSet}: ≤ 32 bytes per record, so ~320 MB for a gzip
     * FASTQ of 10 M reads, which one task reads whole; a plain file's task reads one {@code --split-size}
     * split). A {@code HashSet<String>} took ~100 bytes per record plus the id: GBs for such a file.
     */
    public static final class SeenIds {
        private final Map<String, IdHashSet> byFile = new HashMap<>();

        /** True the first time {@code id} is seen in {@code file}. */
        boolean firstTime(String file, String id) {
            return byFile.computeIfAbsent(file, f -> new IdHashSet()).add(id);
        }
    }

    private final ChunkReader in;
    private final SeenIds seen;
    private final Listener listener;
    /** Inside a duplicate record: its chunks are dropped up to and including its last one. */
    private boolean skipping;

    public DuplicateIdFilter(ChunkReader in, SeenIds seen, Listener listener) {
        this.in = in;
        this.seen = seen;
        this.listener = listener;
    }

    @Override
    public Chunk next() throws IOException {
        while (true) {
            Chunk c = in.next();
            if (c == null) {
                return null;
            }
            if (!skipping && c.chunkIndex() == 0 && !seen.firstTime(c.file(), c.sequenceId())) {
                listener.duplicate(c.sequenceId(), c.file(), InputFormatException.atRecord(c.file(), c.sequenceId(),
                        "duplicate sequence id: an earlier record of this file has the same id; this record is "
                                + "skipped").getMessage());
                skipping = true;
            }
            if (!skipping) {
                return c;
            }
            if (c.last()) {
                skipping = false;
            }
        }
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
