package dev.mamba.jobs.spark;

import dev.mamba.jobs.source.ChunkSchema;
import dev.mamba.pipeline.batch.LaneScheduler;
import dev.mamba.pipeline.batch.StepEncoder;
import dev.mamba.pipeline.io.Chunk;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.Row;
import org.apache.spark.util.LongAccumulator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.function.Function;

/**
 * Runs one partition's chunks through the model: a pull-based iterator that feeds chunk rows to a
 * {@link LaneScheduler} until its sink has output rows, so a task's memory stays bounded however long
 * its sequences are. Resources (runner lease, Arrow allocator) are released when the input ends or the
 * task completes, whichever comes first.
 */
final class PartitionDriver implements Iterator<Row> {
    private static final Logger LOG = LoggerFactory.getLogger(PartitionDriver.class);
    private final Iterator<Row> in;
    private final RowSink sink;
    private final ExecutorRuntime.Lease lease;
    private final BufferAllocator alloc;
    private final LaneScheduler sch;
    private final LongAccumulator chunks;
    private final LongAccumulator steps;
    private final LongAccumulator computed;  // lane-steps the backend ran, padding and idle lanes included
    private long lastSteps, lastComputed;
    private boolean finished;
    private boolean released;
    private final long createdAt = System.nanoTime();
    private final long leasedAt;  // when the runner was in hand (the first task of a backend waits for it to open)
    private final String name;

    PartitionDriver(Iterator<Row> in, JobSettings s, Function<ExecutorRuntime.Lease, RowSink> sinks,
                    Function<ExecutorRuntime.Lease, StepEncoder> encoder, JobCounters counters) {
        this.in = in;
        this.chunks = counters.chunks;
        this.steps = counters.steps;
        this.computed = counters.computed;
        this.lease = ExecutorRuntime.acquire(s);
        counters.backends.add(lease.model.backend().describe());
        this.leasedAt = System.nanoTime();
        RowSink sk;
        try {
            sk = sinks.apply(lease);
        } catch (RuntimeException e) {
            lease.close();
            throw e;
        }
        this.sink = sk;
        TaskContext tc = TaskContext.get();
        this.name = "task-" + (tc == null ? "local" : tc.partitionId() + "." + tc.attemptNumber());
        BufferAllocator a = null;
        LaneScheduler sc = null;
        try {
            a = ExecutorRuntime.allocator().newChildAllocator(name, 0, Long.MAX_VALUE);
            sc = new LaneScheduler(lease.runner, encoder.apply(lease), sink, sink.outputs(), a, 4 * s.lanes);
        } catch (RuntimeException e) {
            if (a != null) {
                a.close();
            }
            lease.close();
            throw e;
        }
        this.alloc = a;
        this.sch = sc;
        if (tc != null) {
            tc.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) ctx -> release());
        }
    }

    @Override
    public boolean hasNext() {
        while (sink.out.isEmpty() && !finished) {
            if (in.hasNext()) {
                feed(in.next());
            } else {
                sch.finish();
                finished = true;
                report();
                release();
            }
        }
        return !sink.out.isEmpty();
    }

    @Override
    public Row next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        return sink.out.poll();
    }

    private void feed(Row r) {
        String error = r.isNullAt(ChunkSchema.ERROR) ? null : r.getString(ChunkSchema.ERROR);
        String id = r.getString(ChunkSchema.SEQUENCE_ID), file = r.getString(ChunkSchema.FILE);
        if (error != null) {
            if (r.getLong(ChunkSchema.CHUNK_INDEX) == ChunkSchema.SKIPPED_RECORD) {
                sch.reject(id, file, r.getLong(ChunkSchema.START), error);
            } else {
                sch.abort(id, file, r.getLong(ChunkSchema.START), error, !r.getBoolean(ChunkSchema.LAST));
            }
            return;
        }
        sink.chunkRow(r);
        sch.accept(toChunk(r, id, file));
        chunks.add(1);
        report();
    }

    private void report() {
        long now = sch.stepsRun;
        if (now != lastSteps) {
            steps.add(now - lastSteps);
            lastSteps = now;
        }
        long ran = sch.computedSteps;
        if (ran != lastComputed) {
            computed.add(ran - lastComputed);
            lastComputed = ran;
        }
    }

    static Chunk toChunk(Row r, String id, String file) {
        long index = r.getLong(ChunkSchema.CHUNK_INDEX), start = r.getLong(ChunkSchema.START);
        int length = r.getInt(ChunkSchema.LENGTH), features = r.getInt(ChunkSchema.FEATURES);
        boolean last = r.getBoolean(ChunkSchema.LAST);
        byte[] payload = (byte[]) r.get(ChunkSchema.PAYLOAD);
        if (features == 0) {
            return Chunk.text(id, file, index, start, length, last, payload);
        }
        float[] v = new float[payload.length / 4];
        ByteBuffer.wrap(payload).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
        return Chunk.numeric(id, file, index, start, length, last, v, features);
    }

    private void release() {
        if (!released) {
            released = true;
            if (LOG.isDebugEnabled()) {  // where a task's time goes: start-up, the model, everything else
                long now = System.nanoTime();
                LOG.debug("{}: runner in {} ms, first forward at {} ms, {} batches, forward calls {} ms of {} ms",
                        name, (leasedAt - createdAt) / 1_000_000,
                        sch.firstForwardAt == 0 ? -1 : (sch.firstForwardAt - createdAt) / 1_000_000, sch.batches,
                        sch.forwardNanos / 1_000_000, (now - createdAt) / 1_000_000);
            }
            try {
                sch.close();
                alloc.close();
            } finally {
                lease.close();
            }
        }
    }
}
