package dev.mamba.jobs.spark;

import dev.mamba.pipeline.batch.ResultSink;
import dev.mamba.pipeline.model.Output;
import org.apache.spark.sql.Row;

import java.util.ArrayDeque;
import java.util.Set;

/** A result sink that turns results into output rows for Spark to pull. */
abstract class RowSink implements ResultSink {
    final ArrayDeque<Row> out = new ArrayDeque<>();

    /** What the forward calls must return for this sink. */
    abstract Set<Output> outputs();

    /** Sees each chunk row before the scheduler does (for columns the chunk itself does not carry). */
    void chunkRow(Row chunkRow) {
    }

    /** The error row for a sequence that could not be processed (or a file that could not be read). */
    abstract Row errorRow(String id, String file, long position, String reason);

    @Override
    public void sequenceFailed(String id, String file, long position, String reason) {
        out.add(errorRow(id, file, position, reason));
    }
}
