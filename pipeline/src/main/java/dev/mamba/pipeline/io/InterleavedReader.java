package dev.mamba.pipeline.io;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Reads several streams (sub-splits of a file, or whole small files) at once and hands out their
 * chunks round-robin, so up to {@code width} sequences are in flight and can share the model's lanes.
 * Each stream's chunks keep their order. At most {@code width} streams are open at a time; the next
 * one opens when one ends.
 */
public final class InterleavedReader implements ChunkReader {

    /** Opens one stream lazily. */
    @FunctionalInterface
    public interface Opener {
        ChunkReader open() throws IOException;
    }

    private final Iterator<Opener> waiting;
    private final int width;
    private final ArrayDeque<ChunkReader> open = new ArrayDeque<>();
    private boolean closed;

    public InterleavedReader(List<Opener> streams, int width) {
        if (width <= 0) {
            throw new IllegalArgumentException("width must be > 0, is " + width);
        }
        this.waiting = new ArrayList<>(streams).iterator();
        this.width = width;
    }

    @Override
    public Chunk next() throws IOException {
        if (closed) {
            return null;
        }
        while (open.size() < width && waiting.hasNext()) {
            open.add(waiting.next().open());
        }
        while (!open.isEmpty()) {
            ChunkReader r = open.poll();
            Chunk c = r.next();
            if (c != null) {
                open.add(r); // back of the queue: round-robin
                return c;
            }
            r.close();
            if (waiting.hasNext()) {
                open.add(waiting.next().open());
            }
        }
        return null;
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        IOException first = null;
        for (ChunkReader r : open) {
            try {
                r.close();
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        open.clear();
        if (first != null) {
            throw first;
        }
    }
}
