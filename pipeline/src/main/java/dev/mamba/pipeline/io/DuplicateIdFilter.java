package dev.mamba.pipeline.io;

import java.io.IOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Passes a stream's chunks on, except those of a record whose id an earlier record of the same file already
 * had: such a record is read past and reported once (to a {@link Listener}), so the earlier record's output
 * stands and the duplicate is a per-sequence error. Without this, two records with one id either ran as
 * one sequence (chunks of both under one key) or both came out as rows with the same id.
 *
 * <p>Which records repeat an id comes from one of two places:
 * <ul>
 *   <li>a pre-scan of the whole file ({@code repeated}: the stream's record ordinals to skip, found by the
 *       caller before the read): "earlier" is then file order, whatever tasks and streams the file was cut
 *       into. The Spark sources do this for plain FASTA/FASTQ files read as several byte ranges;</li>
 *   <li>otherwise a {@link SeenIds} that all streams a task reads side by side share: "earlier" is the order
 *       the task reads records in, which is file order for a file read as one stream (a gzip file).</li>
 * </ul>
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
     * FASTQ of 10 M reads, which one task reads whole). A {@code HashSet<String>} took ~100 bytes per record
     * plus the id: GBs for such a file.
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
    /** Ordinals of this stream's records that repeat an earlier id of the file, ascending; null: use {@link #seen}. */
    private final long[] repeated;
    /** Records begun in this stream so far (chunk 0s read, skipped ones included). */
    private long ordinal;
    /** Inside a duplicate record: its chunks are dropped up to and including its last one. */
    private boolean skipping;

    public DuplicateIdFilter(ChunkReader in, SeenIds seen, Listener listener) {
        this(in, seen, listener, null);
    }

    /**
     * {@code repeated}: the ordinals (0 = the stream's first record) of the records to skip, ascending, as a
     * pre-scan of the whole file found them; null to compare ids through {@code seen} instead.
     */
    public DuplicateIdFilter(ChunkReader in, SeenIds seen, Listener listener, long[] repeated) {
        this.in = in;
        this.seen = seen;
        this.listener = listener;
        this.repeated = repeated;
    }

    private boolean isDuplicate(Chunk first) {
        long k = ordinal++;
        return repeated != null ? Arrays.binarySearch(repeated, k) >= 0 : !seen.firstTime(first.file(), first.sequenceId());
    }

    @Override
    public Chunk next() throws IOException {
        while (true) {
            Chunk c = in.next();
            if (c == null) {
                return null;
            }
            if (!skipping && c.chunkIndex() == 0 && isDuplicate(c)) {
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
