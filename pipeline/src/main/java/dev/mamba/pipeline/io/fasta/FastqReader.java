package dev.mamba.pipeline.io.fasta;

import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.io.InputFormatException;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Streams FASTQ records as text {@link Chunk}s (the bases; qualities are checked and dropped), plain or
 * gzip, never holding more than one chunk of a read (long reads of megabases are fine).
 *
 * <p>Format accepted: 4-line records: {@code @id description}, one sequence line, a line starting with
 * '+' (anything after it is ignored), one quality line with as many quality characters (0x21..0x7E) as
 * there are bases. LF or CRLF; spaces, tabs and CR are skipped in sequence and quality lines; blank lines
 * between records are skipped. Multi-line (wrapped) FASTQ is not supported: the second sequence line is
 * reported as a missing '+' line. Errors name the line: quality length ≠ sequence length, missing '+'
 * line, truncated record at the end, control/NUL/non-ASCII bytes. The last chunk of a read is returned
 * only after its quality line was checked.
 *
 * <p>Splits: exactly the records whose '@' header line starts in {@code [splitStart, splitEnd)}. A quality
 * line may also start with '@', so a split that starts mid-file finds its first header with this rule: a
 * line starting with '@' is a quality line if and only if the line before it starts with '+' and the line
 * before that does not (a header follows a quality line or a blank line; a quality line follows a '+'
 * line, which follows a sequence line, which never starts with '+'). The rule is exact for valid 4-line
 * FASTQ; it needs the two lines before the split's first line, found by scanning backwards (one read at
 * most). For invalid files every split still stops at the first error it meets, but which split reports a
 * malformed record near a split point is not specified.
 */
public final class FastqReader extends FastxReader {

    /** Reads the whole file with the default chunk length ({@value FastxReader#DEFAULT_CHUNK_LEN}). */
    public FastqReader(Path file) throws IOException {
        this(file, 0, Long.MAX_VALUE, DEFAULT_CHUNK_LEN);
    }

    /** Reads the whole file with {@code chunkLen} steps per chunk. */
    public FastqReader(Path file, int chunkLen) throws IOException {
        this(file, 0, Long.MAX_VALUE, chunkLen);
    }

    /** Reads the records whose header starts in {@code [splitStart, splitEnd)} (gzip: see {@link FastxReader}). */
    public FastqReader(Path file, long splitStart, long splitEnd, int chunkLen) throws IOException {
        super(file, splitStart, splitEnd, chunkLen);
    }

    @Override
    String formatName() {
        return "FASTQ";
    }

    @Override
    int headerByte() {
        return '@';
    }

    @Override
    boolean isRecordStart(int first, int prev1, int prev2) {
        return first == '@' && !(prev1 == '+' && prev2 != '+');
    }

    @Override
    boolean needsPreviousLines() {
        return true;
    }

    @Override
    boolean startRecord() throws IOException {
        while (true) {
            int b = in.peek();
            if (b < 0 || in.offset() >= splitEnd) {
                return false;
            }
            if (b == '@') {
                readHeader();
                return true;
            }
            if (b == '\n') {
                in.pos++;
                newLine();
            } else if (b == ' ' || b == '\t' || b == '\r') {
                in.pos++;
            } else {
                String hint = b == '>' && line == 0 ? " (this looks like FASTA)" : "";
                throw error("expected a FASTQ header line starting with '@', found "
                        + InputFormatException.describeByte(b) + hint);
            }
        }
    }

    @Override
    Chunk readChunk() throws IOException {
        byte[] out = scratch();
        int n = 0;
        boolean ended = false;
        while (n < chunkLen) {
            if (!in.fill()) {
                ended = true;
                break;
            }
            byte[] buf = in.buf;
            int p = in.pos;
            int lim = in.lim;
            while (p < lim && n < chunkLen) {
                byte b = buf[p];
                if (b >= 0x21 && b <= 0x7E) {
                    out[n++] = b;
                    p++;
                } else if (b == '\n') {
                    in.pos = p + 1;
                    newLine();
                    ended = true;
                    break;
                } else if (b == ' ' || b == '\t' || b == '\r') {
                    p++;
                } else {
                    in.pos = p;
                    throw badByte(b, "sequence line");
                }
            }
            if (ended) {
                break;
            }
            in.pos = p;
        }
        if (!ended) {
            ended = !moreSequence();
        }
        if (ended) {
            checkPlusAndQuality(start + n);
        }
        return emit(n, ended);
    }

    /** After a full chunk: skips trailing blanks; true if more bases follow on the sequence line. */
    private boolean moreSequence() throws IOException {
        while (in.fill()) {
            int b = in.buf[in.pos] & 0xFF;
            if (b == '\n') {
                in.pos++;
                newLine();
                return false;
            } else if (b == ' ' || b == '\t' || b == '\r') {
                in.pos++;
            } else {
                return true;
            }
        }
        return false;
    }

    /** Reads the '+' line and the quality line of the current record and checks the quality length. */
    private void checkPlusAndQuality(long seqLen) throws IOException {
        int b = in.peek();
        if (b < 0) {
            throw error("truncated record " + id + " at end of file: no '+' line after the sequence");
        }
        if (b != '+') {
            // a nucleotide letter suggests a wrapped sequence rather than a lost '+' line
            String hint = "ACGTUNRYKMSWBDHVacgtunrykmswbdhv".indexOf(b) >= 0
                    ? " (multi-line FASTQ sequences are not supported)" : "";
            throw error("missing '+' line after the sequence of record " + id + ": found "
                    + InputFormatException.describeByte(b) + hint);
        }
        boolean plusLineEnded = restOfLine();
        if (!plusLineEnded || in.peek() < 0) {
            if (seqLen == 0) {
                return; // an empty read's empty quality line may be the missing last line
            }
            throw error("truncated record " + id + " at end of file: no quality line");
        }
        long q = 0;
        long qualityLine = line;
        boolean lineEnded = false;
        while (!lineEnded && in.fill()) {
            byte[] buf = in.buf;
            int p = in.pos;
            int lim = in.lim;
            while (p < lim) {
                byte c = buf[p];
                if (c >= 0x21 && c <= 0x7E) {
                    q++;
                    p++;
                } else if (c == '\n') {
                    lineEnded = true;
                    break;
                } else if (c == ' ' || c == '\t' || c == '\r') {
                    p++;
                } else {
                    in.pos = p;
                    throw badByte(c, "quality line");
                }
            }
            in.pos = p;
        }
        if (q != seqLen) {
            throw errorAtLine(qualityLine, "quality length " + q + " != sequence length "
                    + seqLen + " (record " + id + ")");
        }
        if (lineEnded) {
            in.pos++;
            newLine();
        }
    }
}
