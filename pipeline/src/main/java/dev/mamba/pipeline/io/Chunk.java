package dev.mamba.pipeline.io;

import java.util.Arrays;
import java.util.Objects;

/**
 * A run of up to {@code chunkLen} consecutive steps of one sequence: the unit every reader in
 * {@code dev.mamba.pipeline.io} produces and the model consumes with its recurrent state carried over.
 *
 * <p>Two payload kinds: <b>text</b> ({@link #symbols()} holds the raw bytes, one per step, exactly as in
 * the file: no case change, no mapping; {@link #values()} is null, {@link #features()} is 0) and
 * <b>numeric</b> ({@link #values()} holds {@code length × features} floats, row-major: step 0's features,
 * then step 1's; {@link #symbols()} is null). Arrays are owned by the chunk and are exactly
 * {@code length} (× features) long; the constructor does not copy them, so don't modify them after.
 *
 * <p>An empty sequence (an empty FASTA record, a WAV file without samples) is delivered as one chunk
 * with {@code length == 0} and {@code last == true}, so that downstream can report it instead of
 * losing it silently.
 */
public final class Chunk {
    private final String sequenceId;
    private final String file;
    private final long chunkIndex;
    private final long start;
    private final int length;
    private final boolean last;
    private final byte[] symbols;
    private final float[] values;
    private final int features;

    private Chunk(String sequenceId, String file, long chunkIndex, long start, int length, boolean last,
                  byte[] symbols, float[] values, int features) {
        this.sequenceId = Objects.requireNonNull(sequenceId, "sequenceId");
        this.file = Objects.requireNonNull(file, "file");
        if (chunkIndex < 0 || start < 0 || length < 0) {
            throw new IllegalArgumentException("chunk of " + sequenceId + ": negative chunkIndex " + chunkIndex
                    + ", start " + start + " or length " + length);
        }
        this.chunkIndex = chunkIndex;
        this.start = start;
        this.length = length;
        this.last = last;
        this.symbols = symbols;
        this.values = values;
        this.features = features;
    }

    /** A text chunk; {@code symbols.length} must equal {@code length}. */
    public static Chunk text(String sequenceId, String file, long chunkIndex, long start, int length, boolean last,
                             byte[] symbols) {
        if (symbols.length != length) {
            throw new IllegalArgumentException("chunk " + chunkIndex + " of " + sequenceId + ": " + symbols.length
                    + " symbols != length " + length);
        }
        return new Chunk(sequenceId, file, chunkIndex, start, length, last, symbols, null, 0);
    }

    /** A numeric chunk; {@code values.length} must equal {@code length * features}. */
    public static Chunk numeric(String sequenceId, String file, long chunkIndex, long start, int length, boolean last,
                                float[] values, int features) {
        if (features <= 0) {
            throw new IllegalArgumentException("chunk " + chunkIndex + " of " + sequenceId + ": features must be > 0, is "
                    + features);
        }
        if (values.length != (long) length * features) {
            throw new IllegalArgumentException("chunk " + chunkIndex + " of " + sequenceId + ": " + values.length
                    + " values != length " + length + " × features " + features);
        }
        return new Chunk(sequenceId, file, chunkIndex, start, length, last, null, values, features);
    }

    /** The sequence (FASTA record, WAV file, series) this chunk belongs to. */
    public String sequenceId() {
        return sequenceId;
    }

    /** The input file, as the path was given to the reader. */
    public String file() {
        return file;
    }

    /** 0-based index of this chunk within its sequence. */
    public long chunkIndex() {
        return chunkIndex;
    }

    /** Offset, in steps, of this chunk's first step within its sequence. */
    public long start() {
        return start;
    }

    /** Number of steps in this chunk (0 only for an empty sequence). */
    public int length() {
        return length;
    }

    /** Whether this is the final chunk of its sequence. */
    public boolean last() {
        return last;
    }

    /** Whether this chunk carries symbols (text) rather than values (numeric). */
    public boolean isText() {
        return symbols != null;
    }

    /** Raw symbol bytes, one per step; null for numeric chunks. */
    public byte[] symbols() {
        return symbols;
    }

    /** Row-major {@code length × features} values; null for text chunks. */
    public float[] values() {
        return values;
    }

    /** Values per step; 0 for text chunks. */
    public int features() {
        return features;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof Chunk)) {
            return false;
        }
        Chunk c = (Chunk) o;
        return chunkIndex == c.chunkIndex && start == c.start && length == c.length && last == c.last
                && features == c.features && sequenceId.equals(c.sequenceId) && file.equals(c.file)
                && Arrays.equals(symbols, c.symbols) && Arrays.equals(values, c.values);
    }

    @Override
    public int hashCode() {
        return Objects.hash(sequenceId, file, chunkIndex, start, length, last, features)
                + 31 * Arrays.hashCode(symbols) + Arrays.hashCode(values);
    }

    @Override
    public String toString() {
        return "Chunk[" + sequenceId + " #" + chunkIndex + " @" + start + " len " + length + (last ? " last" : "")
                + (isText() ? " text" : " features " + features) + " from " + file + "]";
    }
}
