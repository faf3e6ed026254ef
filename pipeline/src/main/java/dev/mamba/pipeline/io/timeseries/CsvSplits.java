package dev.mamba.pipeline.io.timeseries;

import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Cuts a CSV file into byte ranges of whole records without reading it through first, so that several tasks can
 * read one large file. RFC 4180 lets a quoted field hold line breaks, so a line break ends a record only outside
 * quotes, and whether a byte lies inside quotes depends on the parity of all the quotes before it ({@code ""} in a
 * quoted field counts twice). Each range is scanned on its own ({@link #scan}, in parallel): its quotes and line
 * breaks, and its first record start under either parity at its start. {@link #ranges} then chains the parities
 * and keeps, per range, the start that holds. In a file whose quotes are malformed the cuts past the fault may be
 * wrong, but the range holding the fault starts right, so its reader reports the fault; readers check every range
 * before any row is used (CsvParts, in the jobs module).
 */
public final class CsvSplits {
    private static final int BUFFER = 1 << 20;

    private CsvSplits() {
    }

    /**
     * What {@link #scan} found in {@code [start, end)}: its quotes and line breaks; {@code evenStart} the first
     * record start in the range if the quotes before {@code start} are even (-1: none), {@code evenLines} the line
     * breaks from {@code start} to it; the same for an odd count. A record start is a byte after a line break that
     * lies outside quotes (or byte 0).
     */
    public record Scan(long start, long end, long quotes, long lineBreaks, long evenStart, long evenLines,
                       long oddStart, long oddLines) implements Serializable {
    }

    /** Whole records {@code [start, end)} of a file; {@code firstLine} is the 1-based line of byte {@code start}. */
    public record Range(long start, long end, long firstLine) implements Serializable {
        public Range {
            if (start < 0 || end < start || firstLine < 1) {
                throw new IllegalArgumentException("CSV range [" + start + ", " + end + ") from line " + firstLine);
            }
        }
    }

    /** The byte ranges of {@code size} bytes cut every {@code splitBytes}: what {@link #scan} is run on. */
    public static List<long[]> cuts(long size, long splitBytes) {
        if (splitBytes <= 0) {
            throw new IllegalArgumentException("split size " + splitBytes + " must be positive");
        }
        List<long[]> out = new ArrayList<>();
        for (long s = 0; s < size || s == 0; s += splitBytes) {
            out.add(new long[]{s, Math.min(size, s + splitBytes)});
        }
        return out;
    }

    /** Scans bytes {@code [start, end)} of {@code file}, and the byte before {@code start}. */
    public static Scan scan(Path file, long start, long end) throws IOException {
        long quotes = 0;
        long breaks = 0;
        long evenStart = -1;
        long evenLines = 0;
        long oddStart = -1;
        long oddLines = 0;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocate(BUFFER);
            long at = Math.max(0, start - 1);
            ch.position(at);
            if (start == 0) {
                evenStart = 0;  // the file's first record (its header)
            }
            while (at < end) {
                buf.clear();
                buf.limit((int) Math.min(BUFFER, end - at));
                int n = ch.read(buf);
                if (n < 0) {
                    throw new IOException(file + ": ended at byte " + at + ", before " + end + " (changed while read?)");
                }
                byte[] b = buf.array();
                for (int i = 0; i < n; i++, at++) {
                    byte c = b[i];
                    if (at < start) {
                        // the byte before the range: a line break there makes start itself a record start, under
                        // an even count (a line break is not a quote, so the parity at start is the one before it)
                        if (c == '\n') {
                            evenStart = start;
                        }
                        continue;
                    }
                    if (c == '"') {
                        quotes++;
                    } else if (c == '\n') {
                        breaks++;
                        if (at + 1 < end) {
                            // outside quotes when the parity before start plus this range's quotes is even
                            if ((quotes & 1) == 0 && evenStart < 0) {
                                evenStart = at + 1;
                                evenLines = breaks;
                            } else if ((quotes & 1) == 1 && oddStart < 0) {
                                oddStart = at + 1;
                                oddLines = breaks;
                            }
                        }
                    }
                }
            }
        }
        return new Scan(start, end, quotes, breaks, evenStart, evenLines, oddStart, oddLines);
    }

    /**
     * How a file writes its times, from its reader at the start: the kind of the first row whose time reads, which
     * a range's reader needs to hold the later rows to it as one read of the whole file would; null when no row's
     * time reads. A structural error is thrown.
     */
    public static TimeKind firstTimeKind(TimeSeriesCsvReader r) throws IOException {
        TimeSeriesCells c;
        while ((c = r.nextCells()) != null) {
            try {
                r.time(c);
                return r.timeKind();
            } catch (dev.mamba.pipeline.io.InputFormatException e) {
                // this row's own error; the next row decides
            }
        }
        return null;
    }

    /**
     * The record ranges of a file from the scans of its consecutive cuts (the first starting at 0, the last ending
     * at the file's end): a range per cut that holds a record start, from that start to the next one.
     */
    public static List<Range> ranges(List<Scan> scans) {
        List<long[]> starts = new ArrayList<>();  // {byte, line}
        long quotes = 0;
        long lines = 1;
        long expect = 0;
        for (Scan s : scans) {
            if (s.start() != expect) {
                throw new IllegalArgumentException("CSV scans do not follow each other: [" + s.start() + ", " + s.end()
                        + ") after one ending at " + expect);
            }
            boolean even = (quotes & 1) == 0;
            long at = even ? s.evenStart() : s.oddStart();
            if (at >= 0) {
                starts.add(new long[]{at, lines + (even ? s.evenLines() : s.oddLines())});
            }
            quotes += s.quotes();
            lines += s.lineBreaks();
            expect = s.end();
        }
        List<Range> out = new ArrayList<>();
        for (int i = 0; i < starts.size(); i++) {
            long end = i + 1 < starts.size() ? starts.get(i + 1)[0] : expect;
            out.add(new Range(starts.get(i)[0], end, starts.get(i)[1]));
        }
        return out;
    }
}
