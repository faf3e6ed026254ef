package dev.mamba.pipeline.io.timeseries;

import dev.mamba.pipeline.io.ChunkReader;
import dev.mamba.pipeline.io.InputFormatException;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a time-series CSV with a header row into {@link TimeSeriesRow}s, one per data row, in file order.
 *
 * <p>Columns are picked by header name: an optional id column (null: the whole file is one series named
 * after the file without its extension), a time column and one or more value columns. The delimiter is
 * given or detected from the header (',', '\t' or ';', whichever occurs most). Fields follow RFC 4180
 * (see {@link CsvParser}); a UTF-8 byte order mark is skipped; header names and values are trimmed of
 * surrounding spaces; blank lines are skipped.
 *
 * <p>Time: a number (taken as is, any unit) or an ISO-8601 date ({@code 2024-01-01}, midnight UTC), local
 * date-time ({@code 2024-01-01T12:00:00} or with a space instead of 'T', UTC) or date-time with offset
 * ({@code …Z}, {@code …+02:00}), converted to epoch milliseconds as a double (exact to the millisecond for
 * any realistic date; sub-millisecond digits become the fraction). All rows must use the same kind.
 *
 * <p>Errors name file, line, column and value: non-numeric ({@code file.csv:17: column 'value' = 'abc' is not
 * a number}), NaN, infinite or out of float range values, empty cells, ragged rows, bytes that are not UTF-8
 * (at their line), missing columns ({@code file.csv: no column 'value'; columns are [...]}).
 *
 * <p>{@link #chunks(int)} groups, sorts and chunks the whole file in memory: meant for tests and small
 * inputs; in Spark the grouping and sorting are Spark's, row by row from {@link #next()}.
 */
public final class TimeSeriesCsvReader implements AutoCloseable {
    private final String file;
    private final CsvParser csv;
    private final char delimiter;
    private final List<String> header;
    private final int idIndex;
    private final int timeIndex;
    private final int[] valueIndex;
    private final String timeColumn;
    private final List<String> valueColumns;
    private final String fixedId;
    private TimeKind timeKind;

    /** Opens with the delimiter detected from the header row. */
    public TimeSeriesCsvReader(Path file, String idColumn, String timeColumn, List<String> valueColumns)
            throws IOException {
        this(file, idColumn, timeColumn, valueColumns, (char) 0);
    }

    /**
     * Opens with a given delimiter ({@code 0}: detect).
     *
     * @param idColumn null when the file holds a single series
     */
    public TimeSeriesCsvReader(Path file, String idColumn, String timeColumn, List<String> valueColumns,
                               char delimiter) throws IOException {
        this(file, idColumn, null, timeColumn, valueColumns, delimiter);
    }

    /**
     * As above, with the id of the file's single series given ({@code fixedId}, used when {@code idColumn} is
     * null; null: the file name without its extension).
     */
    public TimeSeriesCsvReader(Path file, String idColumn, String fixedId, String timeColumn, List<String> valueColumns,
                               char delimiter) throws IOException {
        this(file, idColumn, fixedId, timeColumn, valueColumns, delimiter, null, null);
    }

    /**
     * The records of one range of the file ({@link CsvSplits#ranges}) only: the header is read from the file's
     * start, then the range's bytes. {@code timeKind}: how the file writes its times (its first row with a readable
     * time), which this range's rows must match as they would in a read of the whole file; null: set by the
     * range's own first readable time.
     */
    public static TimeSeriesCsvReader range(Path file, String idColumn, String fixedId, String timeColumn,
                                            List<String> valueColumns, CsvSplits.Range range, TimeKind timeKind)
            throws IOException {
        return new TimeSeriesCsvReader(file, idColumn, fixedId, timeColumn, valueColumns, (char) 0, range, timeKind);
    }

    private TimeSeriesCsvReader(Path file, String idColumn, String fixedId, String timeColumn, List<String> valueColumns,
                                char delimiter, CsvSplits.Range range, TimeKind timeKind) throws IOException {
        this.file = file.toString();
        this.timeColumn = timeColumn;
        this.valueColumns = List.copyOf(valueColumns);
        this.timeKind = timeKind;
        if (valueColumns.isEmpty()) {
            throw new IllegalArgumentException(file + ": at least one value column is needed");
        }
        // a range from byte 0 holds the header and ends where the range does; a later one is read after the header
        BufferedReader r = reader(file, 0, range != null && range.start() == 0 ? range.end() : Long.MAX_VALUE);
        CsvParser data = null;
        try {
            r.mark(4);
            if (r.read() != '\uFEFF') {
                r.reset();
            }
            if (delimiter == 0) {
                r.mark(1 << 20);
                String first;
                do {
                    first = r.readLine();
                } while (first != null && first.isBlank());
                r.reset();
                if (first == null) {
                    throw new InputFormatException(this.file + ": empty file, expected a header row");
                }
                delimiter = CsvParser.detectDelimiter(first);
            }
            this.delimiter = delimiter;
            CsvParser head = new CsvParser(r, this.file, delimiter);
            List<String> h = head.next();
            if (h == null) {
                throw new InputFormatException(this.file + ": empty file, expected a header row");
            }
            if (range != null && range.start() > 0) {
                r.close();
                data = new CsvParser(reader(file, range.start(), range.end()), this.file, delimiter, range.firstLine());
            } else {
                data = head;
            }
            List<String> names = new ArrayList<>(h.size());
            for (String s : h) {
                names.add(s.trim());
            }
            this.header = List.copyOf(names);
            this.idIndex = idColumn == null ? -1 : column(idColumn);
            this.timeIndex = column(timeColumn);
            this.valueIndex = new int[valueColumns.size()];
            for (int i = 0; i < valueIndex.length; i++) {
                valueIndex[i] = column(valueColumns.get(i));
            }
        } catch (IOException | RuntimeException e) {
            r.close();
            if (data != null) {
                data.close();
            }
            throw e;
        }
        this.csv = data;
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        this.fixedId = fixedId != null ? fixedId : dot > 0 ? name.substring(0, dot) : name;
    }

    /** UTF-8 text of bytes {@code [start, end)} of the file (the end clamped to the file's). */
    private static BufferedReader reader(Path file, long start, long end) throws IOException {
        java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.READ);
        try {
            ch.position(start);
            java.io.InputStream in = java.nio.channels.Channels.newInputStream(ch);
            if (end != Long.MAX_VALUE) {
                in = new Bounded(in, end - start);
            }
            // bytes that are not UTF-8 become CsvParser.NOT_UTF8, an error at their line when the parser reaches them
            java.nio.charset.CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(java.nio.charset.CodingErrorAction.REPLACE)
                    .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPLACE)
                    .replaceWith(String.valueOf(CsvParser.NOT_UTF8));
            return new BufferedReader(new java.io.InputStreamReader(in, utf8), 1 << 16);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** At most {@code left} bytes of a stream: a range's reader must not run into the next range's records. */
    private static final class Bounded extends java.io.FilterInputStream {
        private long left;

        Bounded(java.io.InputStream in, long left) {
            super(in);
            this.left = left;
        }

        @Override
        public int read() throws IOException {
            if (left <= 0) {
                return -1;
            }
            int c = in.read();
            if (c >= 0) {
                left--;
            }
            return c;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left <= 0) {
                return -1;
            }
            int n = in.read(b, off, (int) Math.min(len, left));
            if (n > 0) {
                left -= n;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            long k = in.skip(Math.min(n, left));
            left -= k;
            return k;
        }

        @Override
        public int available() throws IOException {
            return (int) Math.min(in.available(), left);
        }

        @Override
        public boolean markSupported() {
            return false;
        }
    }

    private int column(String name) throws InputFormatException {
        int at = header.indexOf(name);
        if (at < 0) {
            throw new InputFormatException(file + ": no column '" + name + "'; columns are " + header);
        }
        int again = header.lastIndexOf(name);
        if (again != at) {
            throw new InputFormatException(file + ": column '" + name + "' appears twice in the header (fields "
                    + (at + 1) + " and " + (again + 1) + ")");
        }
        return at;
    }

    /** Header names as read (trimmed). */
    public List<String> header() {
        return header;
    }

    /** The delimiter in use (given or detected). */
    public char delimiter() {
        return delimiter;
    }

    /** How the time column is written; null until a data row has been read. */
    public TimeKind timeKind() {
        return timeKind;
    }

    /** The next data row, or null at the end of the file. */
    public TimeSeriesRow next() throws IOException {
        TimeSeriesCells c = nextCells();
        if (c == null) {
            return null;
        }
        return new TimeSeriesRow(c.seriesId(), time(c), c.timeText(), values(c), c.line());
    }

    /**
     * The next data row's fields, checked for the file's structure only (field count, a series id), or null at
     * the end of the file. Its time and values are parsed by {@link #time} and {@link #values}: separately,
     * so that a job can turn a bad value into an error of that series at that time and go on with the file.
     */
    public TimeSeriesCells nextCells() throws IOException {
        List<String> f;
        do {
            f = csv.next();
            if (f == null) {
                return null;
            }
        } while (f.size() == 1 && f.get(0).isBlank());
        long line = csv.recordLine();
        if (f.size() != header.size()) {
            throw InputFormatException.atLine(file, line, f.size() + " fields, the header has " + header.size());
        }
        String id;
        if (idIndex >= 0) {
            id = f.get(idIndex).trim();
            if (id.isEmpty()) {
                throw InputFormatException.atLine(file, line, "column '" + header.get(idIndex) + "' (series id) is empty");
            }
        } else {
            id = fixedId;
        }
        String[] values = new String[valueIndex.length];
        for (int i = 0; i < valueIndex.length; i++) {
            values[i] = f.get(valueIndex[i]).trim();
        }
        return new TimeSeriesCells(id, f.get(timeIndex).trim(), values, line);
    }

    /** The row's time: a number as written, or an ISO-8601 date/timestamp in epoch milliseconds (see the class). */
    public double time(TimeSeriesCells c) throws InputFormatException {
        return parseTime(c.timeText(), c.line());
    }

    /** The row's values, in the order of the value columns asked for. */
    public float[] values(TimeSeriesCells c) throws InputFormatException {
        float[] values = new float[valueIndex.length];
        for (int i = 0; i < valueIndex.length; i++) {
            values[i] = parseValue(c.values()[i], valueColumns.get(i), c.line());
        }
        return values;
    }

    /** All remaining rows. */
    public List<TimeSeriesRow> readAll() throws IOException {
        List<TimeSeriesRow> rows = new ArrayList<>();
        TimeSeriesRow r;
        while ((r = next()) != null) {
            rows.add(r);
        }
        return rows;
    }

    /** Reads the rest of the file, groups by series, sorts by time ({@link TimeSeries#group}). In memory. */
    public List<TimeSeries> readSeries() throws IOException {
        return TimeSeries.group(file, readAll());
    }

    /** {@link #readSeries()} cut into chunks of up to {@code chunkLen} steps. In memory. */
    public ChunkReader chunks(int chunkLen) throws IOException {
        return new TimeSeriesChunker(file, readSeries(), chunkLen);
    }

    private double parseTime(String s, long line) throws InputFormatException {
        if (s.isEmpty()) {
            throw InputFormatException.atLine(file, line, "column '" + timeColumn + "' is empty");
        }
        TimeKind kind;
        double t;
        String bad = checkNumber(s);
        if (bad == null) {
            kind = TimeKind.NUMBER;
            t = Double.parseDouble(s);
            if (!Double.isFinite(t)) {
                throw InputFormatException.atLine(file, line, "column '" + timeColumn + "' = '" + s + "' is out of range");
            }
        } else if (!bad.equals("is not a number")) {
            throw InputFormatException.atLine(file, line, "column '" + timeColumn + "' = '" + s + "' " + bad);
        } else {
            kind = TimeKind.TIMESTAMP;
            t = parseTimestamp(s, line);
        }
        if (timeKind == null) {
            timeKind = kind;
        } else if (kind != timeKind) {
            throw InputFormatException.atLine(file, line, "column '" + timeColumn + "' = '" + s + "' is a "
                    + (kind == TimeKind.NUMBER ? "number" : "timestamp") + " but earlier rows hold "
                    + (timeKind == TimeKind.NUMBER ? "numbers" : "timestamps"));
        }
        return t;
    }

    private double parseTimestamp(String s, long line) throws InputFormatException {
        try {
            Instant at;
            if (s.length() == 10) {
                at = LocalDate.parse(s).atStartOfDay(ZoneOffset.UTC).toInstant();
            } else {
                String iso = s.length() > 10 && s.charAt(10) == ' ' ? s.substring(0, 10) + 'T' + s.substring(11) : s;
                char end = iso.charAt(iso.length() - 1);
                boolean offset = end == 'Z' || end == 'z' || iso.lastIndexOf('+') > 10 || iso.lastIndexOf('-') > 10;
                at = offset ? OffsetDateTime.parse(iso.toUpperCase()).toInstant()
                        : LocalDateTime.parse(iso).toInstant(ZoneOffset.UTC);
            }
            return at.getEpochSecond() * 1000.0 + at.getNano() / 1e6;
        } catch (DateTimeException e) {
            throw InputFormatException.atLine(file, line, "column '" + timeColumn + "' = '" + s
                    + "' is neither a number nor an ISO-8601 date or timestamp");
        }
    }

    private float parseValue(String s, String column, long line) throws InputFormatException {
        try {
            return value(column, s);
        } catch (IllegalArgumentException e) {
            throw InputFormatException.atLine(file, line, e.getMessage());
        }
    }

    /**
     * A value field (trimmed) of {@code column} as a finite float; else IllegalArgumentException saying why
     * ("column 'x' is empty", "column 'x' = 'abc' is not a number", ... is NaN, is infinite, is out of float
     * range), for the caller to place (a file and line here; a series and time in the Spark job's Parquet path).
     */
    public static float value(String column, String s) {
        if (s.isEmpty()) {
            throw new IllegalArgumentException("column '" + column + "' is empty");
        }
        String bad = checkNumber(s);
        if (bad != null) {
            throw new IllegalArgumentException("column '" + column + "' = '" + s + "' " + bad);
        }
        float f = (float) Double.parseDouble(s);
        if (Float.isInfinite(f)) {
            throw new IllegalArgumentException("column '" + column + "' = '" + s + "' is out of float range");
        }
        return f;
    }

    /**
     * Null when {@code s} is a plain decimal number ({@code [+-]digits[.digits][e[+-]digits]}), else why not:
     * "is NaN", "is infinite" or "is not a number". Stricter than {@link Double#parseDouble}, which also takes
     * hex floats and suffixes like "1f".
     */
    static String checkNumber(String s) {
        int i = 0;
        int n = s.length();
        if (i < n && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
            i++;
        }
        String rest = s.substring(i).toLowerCase();
        if (rest.equals("nan")) {
            return "is NaN";
        }
        if (rest.equals("inf") || rest.equals("infinity")) {
            return "is infinite";
        }
        int digits = 0;
        while (i < n && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
            i++;
            digits++;
        }
        if (i < n && s.charAt(i) == '.') {
            i++;
            while (i < n && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
                i++;
                digits++;
            }
        }
        if (digits == 0) {
            return "is not a number";
        }
        if (i < n && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
            i++;
            if (i < n && (s.charAt(i) == '+' || s.charAt(i) == '-')) {
                i++;
            }
            int exp = 0;
            while (i < n && s.charAt(i) >= '0' && s.charAt(i) <= '9') {
                i++;
                exp++;
            }
            if (exp == 0) {
                return "is not a number";
            }
        }
        return i == n ? null : "is not a number";
    }

    @Override
    public void close() throws IOException {
        csv.close();
    }
}
