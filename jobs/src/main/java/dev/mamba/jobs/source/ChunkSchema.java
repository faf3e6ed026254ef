package dev.mamba.jobs.source;

import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The rows every chunk source yields: one per chunk, in order within a sequence.
 * <ul>
 *   <li>{@code sequence_id} string, {@code file} string, {@code chunk_index} long (0-based),
 *       {@code start} long (first step's offset in the sequence), {@code length} int (steps),
 *       {@code last} boolean (final chunk of its sequence);</li>
 *   <li>{@code payload} binary: text formats, one byte per step as in the file; numeric formats,
 *       {@code length × features} float32 little-endian (binary, so no per-value boxing);</li>
 *   <li>{@code features} int: 0 for text, values per step for numeric;</li>
 *   <li>{@code error} string: null, except on the single row that reports a stream the reader could
 *       not read (only with {@code onError=report}), and on a row for a record the source skipped whole
 *       (a duplicate id; always), whose {@code chunk_index} is {@link #SKIPPED_RECORD}: no chunk of it
 *       was sent, so a sequence with the same id must not be stopped by it.</li>
 * </ul>
 */
public final class ChunkSchema {
    public static final StructType SCHEMA = new StructType()
            .add("sequence_id", DataTypes.StringType, false)
            .add("file", DataTypes.StringType, false)
            .add("chunk_index", DataTypes.LongType, false)
            .add("start", DataTypes.LongType, false)
            .add("length", DataTypes.IntegerType, false)
            .add("last", DataTypes.BooleanType, false)
            .add("payload", DataTypes.BinaryType, true)
            .add("features", DataTypes.IntegerType, false)
            .add("error", DataTypes.StringType, true);

    /** Time-series chunks add the steps' times (float64 little-endian, one per step). */
    public static final StructType WITH_TIMES = SCHEMA.add("times", DataTypes.BinaryType, true);

    public static final int SEQUENCE_ID = 0, FILE = 1, CHUNK_INDEX = 2, START = 3, LENGTH = 4, LAST = 5, PAYLOAD = 6,
            FEATURES = 7, ERROR = 8, TIMES = 9;

    /** {@code chunk_index} of an error row for a record that was skipped whole (see {@code error}). */
    public static final long SKIPPED_RECORD = -1;

    private ChunkSchema() {
    }
}
