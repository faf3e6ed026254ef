package dev.mamba.pipeline.io.fasta;

import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.io.ChunkReader;
import dev.mamba.pipeline.io.InputFormatException;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * What FASTA and FASTQ readers share: opening a split (plain from an offset, gzip whole), finding the
 * first record that starts in the split, header parsing, line numbers for errors, chunk buffers.
 *
 * <p>Split rule: a reader for {@code [splitStart, splitEnd)} emits exactly the records whose header line
 * starts at an offset in that range, reading past {@code splitEnd} to finish its last record. A gzip file
 * cannot be split: the split with {@code splitStart == 0} reads all of it and every other split is empty.
 *
 * <p>A file without any record (0 bytes or only blank lines) is an error, raised by the reader of the split
 * at 0 alone: it speaks for the whole file, so other splits without records stay quiet.
 */
abstract class FastxReader implements ChunkReader {
    /** Chunk length used when none is given, in steps (bytes of sequence). */
    static final int DEFAULT_CHUNK_LEN = 4096;
    /** Longest sequence id accepted: ids are kept in memory, sequence lines never are. */
    static final int MAX_ID_BYTES = 1 << 16;

    final Path path;
    final String file;
    final int chunkLen;
    final long splitEnd;
    ByteInput in;
    /** Offset of the first line the reader looked at (the split's first line start). */
    private long alignedStart;
    /** Line index of the current position, 0-based, counted from {@link #alignedStart}. */
    long line;
    /** Offset where the current line starts (for columns in messages). */
    long lineStartOffset;
    /** Lines before {@link #alignedStart}; -1 until an error needs it (counting costs a pass over the prefix). */
    private long linesBefore = -1;
    boolean done;
    boolean inRecord;
    /** This reader starts at byte 0 and so must find the file's first record (or report the file empty). */
    private final boolean fromFileStart;
    private boolean sawRecord;
    String id;
    long chunkIndex;
    long start;
    private byte[] scratch;

    FastxReader(Path path, long splitStart, long splitEnd, int chunkLen) throws IOException {
        if (chunkLen <= 0) {
            throw new IllegalArgumentException("chunkLen must be > 0, is " + chunkLen);
        }
        if (splitStart < 0 || splitEnd < splitStart) {
            throw new IllegalArgumentException("split [" + splitStart + ", " + splitEnd + ") of " + path + " is invalid");
        }
        this.path = path;
        this.file = path.toString();
        this.chunkLen = chunkLen;
        this.fromFileStart = splitStart == 0;
        if (ByteInput.isGzip(path)) {
            this.splitEnd = Long.MAX_VALUE;
            if (splitStart == 0) {
                in = ByteInput.gzip(path);
            } else {
                done = true;
            }
            return;
        }
        this.splitEnd = splitEnd;
        long size = Files.size(path);
        if (splitStart >= size || splitStart >= splitEnd) {
            if (size == 0 && fromFileStart) {
                throw emptyFile();
            }
            done = true;
            return;
        }
        if (splitStart == 0) {
            in = ByteInput.plain(path, 0);
            return;
        }
        openAtFirstRecord(splitStart);
    }

    /** "FASTA" or "FASTQ", for messages. */
    abstract String formatName();

    /** The byte a header line starts with: '>' or '@'. */
    abstract int headerByte();

    /** Whether a line beginning with {@code first} starts a record, given the first bytes of the two lines before. */
    abstract boolean isRecordStart(int first, int prev1, int prev2);

    /** Whether {@link #isRecordStart} looks at the lines before (then they are found by scanning backwards). */
    abstract boolean needsPreviousLines();

    /** At a line start between records: skips blank lines, parses the next header; false at the end. */
    abstract boolean startRecord() throws IOException;

    /** Inside a record: the next chunk of its sequence (the last one completes the record). */
    abstract Chunk readChunk() throws IOException;

    @Override
    public final Chunk next() throws IOException {
        if (done) {
            return null;
        }
        if (!inRecord && !startRecord()) {
            done = true;
            if (fromFileStart && !sawRecord) {
                checkRecordFollows();
            }
            return null;
        }
        sawRecord = true;
        return readChunk();
    }

    /**
     * The split at byte 0 ended without a record: blanks may run past its end, so look on (over blanks only)
     * for the file's first header, which a later split then reads. None at all: the file is empty.
     */
    private void checkRecordFollows() throws IOException {
        while (true) {
            int b = in.peek();
            if (b < 0) {
                throw emptyFile();
            }
            if (b == headerByte()) {
                return;
            }
            if (b != ' ' && b != '\t' && b != '\r' && b != '\n') {
                throw error("expected " + expectedRecord() + ", found " + InputFormatException.describeByte(b));
            }
            in.pos++;
            if (b == '\n') {
                newLine();
            }
        }
    }

    private InputFormatException emptyFile() {
        return new InputFormatException(file + ": empty file: expected " + expectedRecord());
    }

    private String expectedRecord() {
        return "a " + formatName() + " record starting with '" + (char) headerByte() + "'";
    }

    /** Positions {@link #in} at the first record header in {@code [splitStart, splitEnd)}, or sets done. */
    private void openAtFirstRecord(long splitStart) throws IOException {
        boolean atLineStart;
        int prev1 = -1;
        int prev2 = -1;
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            atLineStart = ByteInput.byteAt(ch, splitStart - 1) == '\n';
            if (needsPreviousLines()) {
                // the line before the first candidate: the one ending at splitStart - 1, or, when splitStart is
                // mid-line, the line holding splitStart (skipped below)
                long p1Start = ByteInput.lastNewlineAtOrBefore(ch, atLineStart ? splitStart - 2 : splitStart - 1) + 1;
                prev1 = ByteInput.byteAt(ch, p1Start);
                if (p1Start > 0) {
                    prev2 = ByteInput.byteAt(ch, ByteInput.lastNewlineAtOrBefore(ch, p1Start - 2) + 1);
                }
            }
        }
        in = ByteInput.plain(path, splitStart);
        alignedStart = splitStart;
        lineStartOffset = splitStart;
        // a line that began before splitStart holds no header of this split
        if (!atLineStart && !skipLine()) {
            return;
        }
        while (true) {
            int b = in.peek();
            if (b < 0 || in.offset() >= splitEnd) {
                done = true;
                return;
            }
            if (isRecordStart(b, prev1, prev2)) {
                return;
            }
            prev2 = prev1;
            prev1 = b;
            if (!skipLine()) {
                return;
            }
        }
    }

    /**
     * Skips to the start of the next line, giving up (done) at end of input or once past {@link #splitEnd}
     * (any later line start is not this split's). Returns false when done.
     */
    private boolean skipLine() throws IOException {
        while (true) {
            if (!in.fill() || in.offset() >= splitEnd) {
                done = true;
                return false;
            }
            if (passNewline()) {
                return true;
            }
        }
    }

    /** Consumes the rest of the current line and its '\n'; false when the input ends first. */
    final boolean restOfLine() throws IOException {
        while (in.fill()) {
            if (passNewline()) {
                return true;
            }
        }
        return false;
    }

    /** Moves past the next '\n' among the buffered bytes (true), else to the end of the buffer (false). */
    private boolean passNewline() {
        byte[] buf = in.buf;
        int p = in.pos;
        int lim = in.lim;
        while (p < lim && buf[p] != '\n') {
            p++;
        }
        if (p < lim) {
            in.pos = p + 1;
            newLine();
            return true;
        }
        in.pos = p;
        return false;
    }

    /** Bookkeeping after consuming a '\n' at {@code in.pos - 1}. */
    final void newLine() {
        line++;
        lineStartOffset = in.offset();
    }

    /**
     * Parses a header line at the current position (its first byte, '>' or '@', not yet consumed): sets
     * {@link #id} to the text up to the first whitespace, consumes the line, starts a record.
     */
    final void readHeader() throws IOException {
        in.pos++;
        byte[] idBuf = new byte[64];
        int n = 0;
        boolean eol = false;
        while (!eol) {
            if (!in.fill()) {
                break;
            }
            int b = in.buf[in.pos] & 0xFF;
            if (b == ' ' || b == '\t' || b == '\r' || b == '\n') {
                break;
            }
            if (b < 0x20 || b == 0x7F) {
                throw error("byte " + InputFormatException.describeByte(b) + " in header line");
            }
            if (n == MAX_ID_BYTES) {
                throw error("sequence id longer than " + MAX_ID_BYTES + " bytes");
            }
            if (n == idBuf.length) {
                idBuf = Arrays.copyOf(idBuf, n * 2);
            }
            idBuf[n++] = (byte) b;
            in.pos++;
        }
        if (n == 0) {
            throw error("empty sequence id in header line");
        }
        id = new String(idBuf, 0, n, StandardCharsets.UTF_8);
        restOfLine();  // the rest of the header (description) is not kept
        inRecord = true;
        chunkIndex = 0;
        start = 0;
    }

    /** A chunk buffer of {@link #chunkLen} bytes (reused until a full one is handed out). */
    final byte[] scratch() {
        if (scratch == null) {
            scratch = new byte[chunkLen];
        }
        return scratch;
    }

    /** Builds the chunk from the first {@code n} scratch bytes and advances the record position. */
    final Chunk emit(int n, boolean last) {
        byte[] symbols;
        if (n == chunkLen) {
            symbols = scratch;
            scratch = null;
        } else {
            symbols = Arrays.copyOf(scratch(), n);
        }
        Chunk c = Chunk.text(id, file, chunkIndex, start, n, last, symbols);
        chunkIndex++;
        start += n;
        if (last) {
            inRecord = false;
        }
        return c;
    }

    /** {@code file:line: what}, with the line number counted from the file's start (and the record, if inside one). */
    final InputFormatException error(String what) {
        return InputFormatException.atLine(file, absoluteLine(), what).inRecord(inRecord ? id : null);
    }

    /** {@code file:line: what} for an earlier line, given as a value of {@link #line}. */
    final InputFormatException errorAtLine(long localLine, String what) {
        return InputFormatException.atLine(file, absoluteLine() - line + localLine, what).inRecord(inRecord ? id : null);
    }

    /** 1-based line number of the current line in the whole file. */
    final long absoluteLine() {
        if (linesBefore < 0) {
            if (alignedStart == 0) {
                linesBefore = 0;
            } else {
                try {
                    linesBefore = ByteInput.countNewlines(path, alignedStart);
                } catch (IOException e) {
                    return -1;
                }
            }
        }
        return linesBefore + line + 1;
    }

    /** 1-based byte column of the byte at the current position within its line. */
    final long column() {
        return in.offset() - lineStartOffset + 1;
    }

    /** Error for a byte that may not appear in a sequence or quality line. */
    final InputFormatException badByte(int b, String where) {
        return error("byte " + InputFormatException.describeByte(b) + " at column " + column() + " in " + where
                + " of record " + id + " (binary data?)");
    }

    @Override
    public void close() throws IOException {
        done = true;
        if (in != null) {
            in.close();
        }
    }
}
