package dev.mamba.pipeline.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * A lazy source of {@link Chunk}s over one input split: {@link #next()} returns the next chunk or
 * {@code null} at the end, and throws {@link InputFormatException} (an {@link IOException}) on bad input.
 * Chunks of one sequence come in order, ending with one whose {@code last()} is true.
 *
 * <p>Why not {@link Iterator}: bad input must surface as a checked {@link IOException} that names the
 * file and line, which {@code Iterator.next()} cannot throw; this shape maps one-to-one onto Spark's
 * {@code PartitionReader} ({@code next()} / {@code get()} / {@code close()}). {@link #asIterator()} is
 * there for tests and small tools.
 */
public interface ChunkReader extends AutoCloseable {

    /** The next chunk, or null when the split is exhausted (and on every call after that). */
    Chunk next() throws IOException;

    /** Releases the file handle; idempotent. */
    @Override
    void close() throws IOException;

    /** An iterator view that wraps {@link IOException}s in {@link UncheckedIOException}. */
    default Iterator<Chunk> asIterator() {
        return new Iterator<>() {
            private Chunk pending;
            private boolean done;

            @Override
            public boolean hasNext() {
                if (pending == null && !done) {
                    try {
                        pending = ChunkReader.this.next();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    done = pending == null;
                }
                return pending != null;
            }

            @Override
            public Chunk next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                Chunk c = pending;
                pending = null;
                return c;
            }
        };
    }
}
