package dev.mamba.pipeline.io.fasta;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A buffered forward byte source over a plain file (from any offset) or a gzip file (whole, decompressed),
 * that knows the offset of every byte. Parsers scan {@link #buf} between {@link #pos} and {@link #lim}
 * directly: the hot loops must not pay a call per byte.
 */
final class ByteInput implements Closeable {
    static final int BUFFER_SIZE = 1 << 16;

    final String file;
    final byte[] buf = new byte[BUFFER_SIZE];
    int pos;
    int lim;
    /** File (or decompressed stream) offset of buf[0]. */
    long bufOffset;
    private final FileChannel channel;
    private final InputStream gzip;
    private boolean eof;
    private boolean closed;

    private ByteInput(String file, FileChannel channel, InputStream gzip, long start) {
        this.file = file;
        this.channel = channel;
        this.gzip = gzip;
        this.bufOffset = start;
    }

    /** A plain file read from {@code start}. */
    static ByteInput plain(Path path, long start) throws IOException {
        FileChannel ch = FileChannel.open(path, StandardOpenOption.READ);
        try {
            ch.position(start);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        return new ByteInput(path.toString(), ch, null, start);
    }

    /**
     * A gzip file, decompressed from its start. Concatenated members (bgzip) are read one after another;
     * a truncated or broken member, or bytes after the last member, are errors ({@link GzipStream}).
     */
    static ByteInput gzip(Path path) throws IOException {
        InputStream raw = Files.newInputStream(path);
        try {
            return new ByteInput(path.toString(), null, new GzipStream(path.toString(), raw), 0);
        } catch (IOException | RuntimeException e) {
            raw.close();
            throw e;
        }
    }

    /** Whether the file starts with the gzip magic bytes 1f 8b (the extension is not consulted). */
    static boolean isGzip(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(2);
            while (b.hasRemaining() && ch.read(b) >= 0) {
                // keep reading: a channel may return fewer bytes than asked
            }
            return b.position() == 2 && (b.get(0) & 0xFF) == 0x1F && (b.get(1) & 0xFF) == 0x8B;
        }
    }

    /** Offset of the byte at {@link #pos}. */
    long offset() {
        return bufOffset + pos;
    }

    /** Makes {@code pos < lim} unless at end of input; returns false at end of input. */
    boolean fill() throws IOException {
        if (pos < lim) {
            return true;
        }
        if (eof) {
            return false;
        }
        bufOffset += lim;
        pos = 0;
        lim = 0;
        int n;
        if (channel != null) {
            n = channel.read(ByteBuffer.wrap(buf));
        } else {
            n = gzip.read(buf, 0, buf.length);  // GzipStream names the file and member in its own errors
        }
        if (n <= 0) {
            // a channel or GzipStream returns 0 only for a 0-length request, so <= 0 means end
            eof = true;
            return false;
        }
        lim = n;
        return true;
    }

    /** The byte at {@link #pos} (0..255) without consuming it, or -1 at end of input. */
    int peek() throws IOException {
        return fill() ? buf[pos] & 0xFF : -1;
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        if (channel != null) {
            channel.close();
        } else {
            gzip.close();
        }
    }

    /** Number of '\n' bytes in {@code [0, end)} of a plain file: line numbers for errors in a split. */
    static long countNewlines(Path path, long end) throws IOException {
        long count = 0;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(BUFFER_SIZE);
            long off = 0;
            while (off < end) {
                b.clear();
                b.limit((int) Math.min(b.capacity(), end - off));
                int n = ch.read(b, off);
                if (n < 0) {
                    break;
                }
                byte[] a = b.array();
                for (int i = 0; i < n; i++) {
                    if (a[i] == '\n') {
                        count++;
                    }
                }
                off += n;
            }
        }
        return count;
    }

    /** Offset of the last '\n' in {@code [0, at]} of a plain file, or -1 if there is none. */
    static long lastNewlineAtOrBefore(FileChannel ch, long at) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(BUFFER_SIZE);
        long end = at + 1;
        while (end > 0) {
            long from = Math.max(0, end - b.capacity());
            b.clear();
            b.limit((int) (end - from));
            int got = 0;
            while (got < end - from) {
                int n = ch.read(b, from + got);
                if (n < 0) {
                    throw new EOFException("file shorter than expected while scanning back from " + at);
                }
                got += n;
            }
            byte[] a = b.array();
            for (int i = got - 1; i >= 0; i--) {
                if (a[i] == '\n') {
                    return from + i;
                }
            }
            end = from;
        }
        return -1;
    }

    /** The byte at {@code offset} of a plain file (0..255), or -1 past the end. */
    static int byteAt(FileChannel ch, long offset) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(1);
        return ch.read(b, offset) == 1 ? b.get(0) & 0xFF : -1;
    }
}
