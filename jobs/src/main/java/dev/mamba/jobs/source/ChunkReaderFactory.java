package dev.mamba.jobs.source;

import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.io.ChunkReader;
import dev.mamba.pipeline.io.DuplicateIdFilter;
import dev.mamba.pipeline.io.InputFormatException;
import dev.mamba.pipeline.io.InterleavedReader;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.connector.read.InputPartition;
import org.apache.spark.sql.connector.read.PartitionReader;
import org.apache.spark.sql.connector.read.PartitionReaderFactory;
import org.apache.spark.unsafe.types.UTF8String;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/** Opens a partition's streams and turns their chunks into rows. */
final class ChunkReaderFactory implements PartitionReaderFactory {
    private static final long serialVersionUID = 1L;
    private final ChunkFormat format;
    private final SourceOptions options;
    private final boolean reportErrors;

    ChunkReaderFactory(ChunkFormat format, SourceOptions options, boolean reportErrors) {
        this.format = format;
        this.options = options;
        this.reportErrors = reportErrors;
    }

    @Override
    public PartitionReader<InternalRow> createReader(InputPartition partition) {
        ChunkPartition p = (ChunkPartition) partition;
        ArrayDeque<InternalRow> errors = new ArrayDeque<>();
        List<InterleavedReader.Opener> openers = new ArrayList<>();
        // one set for all streams of the partition that were not pre-scanned (RepeatedIds): whole files
        DuplicateIdFilter.SeenIds seen = new DuplicateIdFilter.SeenIds();
        DuplicateIdFilter.Listener duplicates = (id, file, reason) -> {
            InternalRow row = errorRow(id, file, 0, reason);
            row.setLong(ChunkSchema.CHUNK_INDEX, ChunkSchema.SKIPPED_RECORD);
            errors.add(row);
        };
        for (InputStreamSpec s : p.streams()) {
            openers.add(() -> {
                if (!reportErrors) {
                    return new DuplicateIdFilter(format.open(s, options), seen, duplicates, s.repeated());
                }
                try {
                    // the filter inside: a read error after a skipped record must not name (and stop) its id
                    return new Reporting(new DuplicateIdFilter(format.open(s, options), seen, duplicates, s.repeated()),
                            s, errors);
                } catch (IOException e) {
                    errors.add(errorRow("", s.path(), 0, e.getMessage()));
                    return new ChunkReader() {
                        @Override
                        public Chunk next() {
                            return null;
                        }

                        @Override
                        public void close() {
                        }
                    };
                }
            });
        }
        InterleavedReader in = new InterleavedReader(openers, options.lanes);
        return new PartitionReader<>() {
            private InternalRow row;

            @Override
            public boolean next() throws IOException {
                if (errors.isEmpty()) {
                    Chunk c = in.next();
                    if (c != null) {
                        row = toRow(c);
                        return true;
                    }
                }
                row = errors.poll();
                return row != null;
            }

            @Override
            public InternalRow get() {
                return row;
            }

            @Override
            public void close() throws IOException {
                in.close();
            }
        };
    }

    static InternalRow toRow(Chunk c) {
        byte[] payload;
        if (c.isText()) {
            payload = c.symbols();
        } else {
            float[] v = c.values();
            ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(v);
            payload = b.array();
        }
        return new GenericInternalRow(new Object[]{UTF8String.fromString(c.sequenceId()), UTF8String.fromString(c.file()),
                c.chunkIndex(), c.start(), c.length(), c.last(), payload, c.features(), null});
    }

    static InternalRow errorRow(String id, String file, long position, String message) {
        return new GenericInternalRow(new Object[]{UTF8String.fromString(id), UTF8String.fromString(file), 0L, position,
                0, true, null, 0, UTF8String.fromString(message)});
    }

    /**
     * Turns a stream's read error into one error row and ends that stream; the others go on. A parser cannot
     * trust anything after malformed bytes, so the records after the error in this stream's byte range are not
     * read: the row says so, with the range, rather than leaving them silently missing.
     */
    private static final class Reporting implements ChunkReader {
        private final ChunkReader in;
        private final InputStreamSpec spec;
        private final ArrayDeque<InternalRow> errors;
        private String lastId = "";
        private long lastEnd;
        private boolean done;

        Reporting(ChunkReader in, InputStreamSpec spec, ArrayDeque<InternalRow> errors) {
            this.in = in;
            this.spec = spec;
            this.errors = errors;
        }

        @Override
        public Chunk next() throws IOException {
            if (done) {
                return null;
            }
            try {
                Chunk c = in.next();
                if (c != null) {
                    lastId = c.last() ? "" : c.sequenceId();
                    lastEnd = c.last() ? 0 : c.start() + c.length();
                }
                return c;
            } catch (IOException e) {
                done = true;
                // A record that fails before its first chunk is named by the reader's exception. It never reached
                // the lanes, so its row is a skipped record's: a kept record with the same id (this one may be a
                // duplicate the filter was dropping) goes on.
                String named = e instanceof InputFormatException ? ((InputFormatException) e).recordId() : null;
                boolean unstarted = lastId.isEmpty() && named != null;
                InternalRow row = errorRow(unstarted ? named : lastId, spec.path(), lastEnd, e.getMessage()
                        + "; records after it up to byte " + spec.end() + " of the file were not read");
                if (unstarted) {
                    row.setLong(ChunkSchema.CHUNK_INDEX, ChunkSchema.SKIPPED_RECORD);
                }
                errors.add(row);
                return null;
            }
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
