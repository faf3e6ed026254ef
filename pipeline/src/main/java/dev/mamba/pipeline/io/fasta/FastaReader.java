package dev.mamba.pipeline.io.fasta;

import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.io.InputFormatException;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Streams FASTA records as text {@link Chunk}s, plain or gzip (detected by the magic bytes 1f 8b;
 * multi-member gzip such as bgzip works), never holding more than one chunk of a record.
 *
 * <p>Format accepted: a record is a header line starting with '>' (id = text after '>' up to the first
 * whitespace; the rest of the header is dropped) followed by any number of sequence lines of any length.
 * LF or CRLF line ends; spaces, tabs and CR inside or at the end of sequence lines and blank lines anywhere
 * are skipped; every other printable ASCII byte (0x21..0x7E) is kept as is (lower case, IUPAC codes, '-',
 * '*'). Control bytes, NUL and bytes ≥ 0x80 in a sequence line are an error naming line, column and byte.
 * Non-blank data before the first header is an error ("no header"). A header followed directly by another
 * header (or the end) is an empty record: one chunk of length 0 with {@code last == true}.
 *
 * <p>Splits: see {@link FastxReader}: exactly the records whose '>' line starts in
 * {@code [splitStart, splitEnd)}; a '>' is a header only at the start of a line.
 */
public final class FastaReader extends FastxReader {

    /** Reads the whole file with the default chunk length ({@value FastxReader#DEFAULT_CHUNK_LEN}). */
    public FastaReader(Path file) throws IOException {
        this(file, 0, Long.MAX_VALUE, DEFAULT_CHUNK_LEN);
    }

    /** Reads the whole file with {@code chunkLen} steps per chunk. */
    public FastaReader(Path file, int chunkLen) throws IOException {
        this(file, 0, Long.MAX_VALUE, chunkLen);
    }

    /** Reads the records whose header starts in {@code [splitStart, splitEnd)} (gzip: see class doc). */
    public FastaReader(Path file, long splitStart, long splitEnd, int chunkLen) throws IOException {
        super(file, splitStart, splitEnd, chunkLen);
    }

    @Override
    String formatName() {
        return "FASTA";
    }

    @Override
    int headerByte() {
        return '>';
    }

    @Override
    boolean isRecordStart(int first, int prev1, int prev2) {
        return first == headerByte();
    }

    @Override
    boolean needsPreviousLines() {
        return false;
    }

    @Override
    boolean startRecord() throws IOException {
        while (true) {
            int b = in.peek();
            if (b < 0 || in.offset() >= splitEnd) {
                return false;
            }
            if (b == '>') {
                readHeader();
                return true;
            }
            // only before the first header: after one, sequence lines belong to a record
            skipBlankLine();
        }
    }

    private void skipBlankLine() throws IOException {
        while (in.fill()) {
            int b = in.buf[in.pos] & 0xFF;
            if (b == '\n') {
                in.pos++;
                newLine();
                return;
            }
            if (b != ' ' && b != '\t' && b != '\r') {
                throw error("sequence data before the first header (no header): found "
                        + InputFormatException.describeByte(b)
                        + "; a FASTA record starts with a '>' line");
            }
            in.pos++;
        }
    }

    @Override
    Chunk readChunk() throws IOException {
        byte[] out = scratch();
        int n = 0;
        boolean ended = false;
        boolean atLineStart = in.offset() == lineStartOffset;
        while (n < chunkLen) {
            if (!in.fill()) {
                ended = true;
                break;
            }
            byte[] buf = in.buf;
            int p = in.pos;
            int lim = in.lim;
            if (atLineStart) {
                if (buf[p] == '>') {
                    ended = true;
                    break;
                }
                atLineStart = false;
            }
            while (p < lim && n < chunkLen) {
                byte b = buf[p];
                if (b >= 0x21 && b <= 0x7E) {
                    out[n++] = b;
                    p++;
                } else if (b == '\n') {
                    in.pos = ++p;
                    newLine();
                    atLineStart = true;
                    break;
                } else if (b == ' ' || b == '\t' || b == '\r') {
                    p++;
                } else {
                    in.pos = p;
                    throw badByte(b, "sequence line");
                }
            }
            in.pos = p;
        }
        if (!ended) {
            ended = !moreSequence(atLineStart);
        }
        return emit(n, ended);
    }

    /** After a full chunk: skips whitespace and line ends; true if a sequence byte follows in this record. */
    private boolean moreSequence(boolean atLineStart) throws IOException {
        while (in.fill()) {
            int b = in.buf[in.pos] & 0xFF;
            if (atLineStart && b == '>') {
                return false;
            }
            if (b == '\n') {
                in.pos++;
                newLine();
                atLineStart = true;
            } else if (b == ' ' || b == '\t' || b == '\r') {
                in.pos++;
                atLineStart = false;
            } else {
                return true; // a bad byte is reported when the next chunk reads it
            }
        }
        return false;
    }
}
