package dev.mamba.pipeline.io.fasta;

import dev.mamba.pipeline.io.InputFormatException;

import java.io.IOException;
import java.io.InputStream;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * The decompressed bytes of every member of a gzip file, one after another (bgzip, {@code cat a.gz b.gz}).
 *
 * <p>Not {@link java.util.zip.GZIPInputStream}: that one takes a next member whose header is broken, or bytes
 * after the last member, for the end of the data, so a file cut inside its last member's header or followed
 * by junk read as complete. Here every byte of the file must belong to a complete member (header, deflate
 * data, CRC-32 and size trailer); anything else is an error naming the file and the member's offset.
 */
final class GzipStream extends InputStream {
    private static final int FHCRC = 2, FEXTRA = 4, FNAME = 8, FCOMMENT = 16;

    private final String file;
    private final InputStream raw;
    private final byte[] in = new byte[ByteInput.BUFFER_SIZE];
    private int inPos;
    private int inLim;
    /** File offset of in[0]. */
    private long inOffset;
    private final Inflater inflater = new Inflater(true);
    private final CRC32 crc = new CRC32();
    /** File offset of the current member's header; -1 between members. */
    private long memberStart = -1;
    private boolean end;
    private boolean closed;

    /** Reads the first member's header, so a file that is not gzip fails here. */
    GzipStream(String file, InputStream raw) throws IOException {
        this.file = file;
        this.raw = raw;
        if (!startMember()) {
            throw new InputFormatException(file + ": gzip file is empty");
        }
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        while (!end) {
            if (memberStart < 0 && !startMember()) {
                end = true;
                break;
            }
            int n;
            try {
                n = inflater.inflate(b, off, len);
            } catch (DataFormatException e) {
                throw corrupt(e.getMessage());
            }
            if (n > 0) {
                crc.update(b, off, n);
                return n;
            }
            if (inflater.finished()) {
                endMember();
            } else if (inflater.needsDictionary()) {
                throw corrupt("it needs a preset dictionary");
            } else if (inflater.needsInput()) {
                if (inPos == inLim && !refill()) {
                    throw truncated();
                }
                inflater.setInput(in, inPos, inLim - inPos);
                inPos = inLim;  // the inflater holds them now; what it leaves is given back in endMember
            }
        }
        return -1;
    }

    /** Parses a member header at the current offset; false when the file ends there (after a whole member). */
    private boolean startMember() throws IOException {
        long at = offset();
        int b0 = readByte();
        if (b0 < 0) {
            return false;
        }
        int b1 = readByte();
        if (b0 == 0x1F && b1 < 0) {
            memberStart = at;
            throw truncated();
        }
        if (b0 != 0x1F || b1 != 0x8B) {
            // not the start of another member: junk or padding, which GZIPInputStream ignores
            throw new InputFormatException(file + (at == 0 ? ": not a gzip file"
                    : ": trailing bytes after the last gzip member: byte " + at + " is not the start of a gzip member"));
        }
        memberStart = at;
        int method = need();
        if (method != 8) {
            throw corrupt("compression method " + method + ", expected 8 (deflate)");
        }
        int flags = need();
        for (int i = 0; i < 6; i++) {  // mtime, extra flags, OS
            need();
        }
        if ((flags & FEXTRA) != 0) {
            int n = need() | need() << 8;
            for (int i = 0; i < n; i++) {
                need();
            }
        }
        if ((flags & FNAME) != 0) {
            while (need() != 0) {
                // zero-terminated file name
            }
        }
        if ((flags & FCOMMENT) != 0) {
            while (need() != 0) {
                // zero-terminated comment
            }
        }
        if ((flags & FHCRC) != 0) {
            need();
            need();
        }
        return true;
    }

    /** After the deflate data: checks the trailer (CRC-32 and size mod 2^32) and prepares for the next member. */
    private void endMember() throws IOException {
        inPos = inLim - inflater.getRemaining();
        long storedCrc = need() | need() << 8 | need() << 16 | (long) need() << 24;
        long storedSize = need() | need() << 8 | need() << 16 | (long) need() << 24;
        if (storedCrc != crc.getValue()) {
            throw corrupt("CRC-32 " + Long.toHexString(crc.getValue()) + " of its data, trailer says "
                    + Long.toHexString(storedCrc));
        }
        if (storedSize != (inflater.getBytesWritten() & 0xFFFFFFFFL)) {
            throw corrupt("decompressed size " + inflater.getBytesWritten() + " (mod 2^32), trailer says "
                    + storedSize);
        }
        inflater.reset();
        crc.reset();
        memberStart = -1;
    }

    private long offset() {
        return inOffset + inPos;
    }

    private int readByte() throws IOException {
        if (inPos == inLim && !refill()) {
            return -1;
        }
        return in[inPos++] & 0xFF;
    }

    /** A byte of the current member, which the file must still have. */
    private int need() throws IOException {
        int b = readByte();
        if (b < 0) {
            throw truncated();
        }
        return b;
    }

    private boolean refill() throws IOException {
        inOffset += inLim;
        inPos = 0;
        inLim = 0;
        int n = raw.read(in, 0, in.length);
        if (n <= 0) {  // an InputStream returns 0 only for a 0-length request
            return false;
        }
        inLim = n;
        return true;
    }

    private InputFormatException truncated() {
        return new InputFormatException(file + ": gzip member at byte " + memberStart
                + " is truncated: the file ends at byte " + offset());
    }

    private InputFormatException corrupt(String what) {
        return new InputFormatException(file + ": gzip member at byte " + memberStart + " is corrupt: " + what);
    }

    @Override
    public void close() throws IOException {
        if (!closed) {
            closed = true;
            end = true;
            inflater.end();
            raw.close();
        }
    }
}
