package dev.mamba.jobs.spark;

import dev.mamba.jobs.source.ChunkSchema;
import dev.mamba.pipeline.io.InputFormatException;
import dev.mamba.pipeline.io.IoMessages;
import dev.mamba.pipeline.io.timeseries.TimeSeriesCells;
import dev.mamba.pipeline.io.timeseries.TimeSeriesCsvReader;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

import static org.apache.spark.sql.functions.*;

/**
 * Time series from CSV or Parquet (a series-id column, a time column, one or more value columns) as a
 * DataFrame of chunks ({@link ChunkSchema#WITH_TIMES}): rows are numbered per series in time order
 * inside the job, series are hash-partitioned so a partition holds about {@code lanes} of them, and each
 * partition is sorted by (chunk index, series, step) so its series interleave and share the lanes.
 * Non-numeric or non-finite values, unparseable times and duplicate times become error rows that
 * name the series, the time and the column; the steps of the series before such a row still come as a
 * (shorter) chunk ahead of the error row, so that they are scored whatever the chunk length.
 */
final class TimeSeriesChunks {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(TimeSeriesChunks.class);

    private TimeSeriesChunks() {
    }

    /** {@code files}: the inputs' files as the plan listed them (CSV); Parquet reads each input as a table. */
    static Dataset<Row> read(SparkSession spark, String format, List<String> inputs, List<Path> files, JobSettings s) {
        Dataset<Row> df;
        List<String> values;
        if (format.equals("csv")) {
            values = csvValueColumns(files, s);
            df = csvRows(spark, files, values, s);
        } else {
            values = null;
            df = null;
            // one read per input, so that without --id-column each input is its own series (its path); the
            // value columns come from the first input's schema
            List<Dataset<Row>> tables = new ArrayList<>();
            List<java.util.Set<String>> read = new ArrayList<>();
            for (String in : inputs) {
                Dataset<Row> raw = spark.read().parquet(in);
                tables.add(raw);
                read.add(realFiles(raw.inputFiles()));
            }
            for (int i : distinctTables(inputs, read)) {
                Dataset<Row> raw = tables.get(i);
                if (values == null) {
                    values = valueColumns(String.join(", ", inputs), Arrays.asList(raw.schema().fieldNames()), s);
                }
                Dataset<Row> one = parquetRows(raw, inputs.get(i), values, s);
                df = df == null ? one : df.unionByName(one);
            }
        }
        df = df.withColumn("step", row_number().over(Window.partitionBy("sid").orderBy(col("time_ms").asc_nulls_first())).minus(1).cast("long"))
                .withColumn("n", count(lit(1)).over(Window.partitionBy("sid")));
        long series = df.select("sid").distinct().count();
        int parts = (int) Math.max(1, Math.min(100_000, (series + s.lanes - 1) / s.lanes));
        long len = s.chunkLength;
        df = df.repartition(parts, col("sid"))
                .sortWithinPartitions(floor(col("step").divide(len)), col("sid"), col("step"));
        return df.mapPartitions(new Build(s.chunkLength, values),
                Encoders.row(ChunkSchema.WITH_TIMES));
    }

    /**
     * The Parquet inputs that are read, by index: each file once. An input whose files ({@code files}: what Spark
     * reads for it) are all read by another input is left out, with one log line: read twice, every row of it would
     * repeat a time of its series. That is an input named again (the first is kept), named through a link, or lying
     * inside another input's table (the table is kept); the files Spark reads for an input decide it, not its path
     * (Spark reads a table's subdirectories only when they are partitions, and passes over hidden and in-progress
     * files).
     */
    static List<Integer> distinctTables(List<String> inputs, List<java.util.Set<String>> files) {
        List<Path> real = new ArrayList<>();
        for (String in : inputs) {
            Path local = dev.mamba.jobs.source.InputFiles.localPath(in);
            try {
                real.add(local == null ? null : local.toRealPath());
            } catch (java.io.IOException e) {
                real.add(null);  // Spark read it, so it exists; compared by its files only
            }
        }
        List<Integer> keep = new ArrayList<>();
        List<String> left = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            String through = null;
            for (int j = 0; j < inputs.size() && through == null; j++) {
                java.util.Set<String> mine = files.get(i), theirs = files.get(j);
                // One that reads a part of another's files is not read. Of two that read the same files, the table
                // is read rather than a data file or partition directory inside it (which would lose the table's
                // name or its partition columns), else the first named.
                if (j != i && !mine.isEmpty() && theirs.containsAll(mine) && (theirs.size() > mine.size()
                        || inside(real.get(i), real.get(j)) || (!inside(real.get(j), real.get(i)) && j < i))) {
                    through = inputs.get(j);
                }
            }
            if (through == null) {
                keep.add(i);
            } else {
                left.add(inputs.get(i) + " (read through " + through + ")");
            }
        }
        if (!left.isEmpty()) {
            LOG.info("parquet inputs whose files another input reads are read once: {}", String.join(", ", left));
        }
        return keep;
    }

    /** Whether {@code p} lies strictly inside directory {@code dir} (both real paths; null: not local). */
    private static boolean inside(Path p, Path dir) {
        return p != null && dir != null && !p.equals(dir) && p.startsWith(dir);
    }

    /** Spark's input files (URIs) as real paths where they are local files, so that links compare equal. */
    private static java.util.Set<String> realFiles(String[] uris) {
        java.util.Set<String> out = new java.util.HashSet<>();
        for (String u : uris) {
            try {
                out.add(u.startsWith("file:") ? Path.of(java.net.URI.create(u)).toRealPath().toString() : u);
            } catch (java.io.IOException | RuntimeException e) {
                out.add(u);  // compared as Spark wrote it
            }
        }
        return out;
    }

    /** The value columns: as asked, or every column but the id and time columns; each must exist. */
    private static List<String> valueColumns(String where, List<String> names, JobSettings s) {
        if (!names.contains(s.timeColumn)) {
            throw new IllegalArgumentException(where + ": no time column '" + s.timeColumn + "'; columns are " + names
                    + " (set --time-column)");
        }
        if (s.idColumn != null && !names.contains(s.idColumn)) {
            throw new IllegalArgumentException(where + ": no series-id column '" + s.idColumn + "'; columns are " + names
                    + " (set --id-column)");
        }
        List<String> values = new ArrayList<>(s.valueColumns);
        if (values.isEmpty()) {
            for (String n : names) {
                if (!n.equals(s.timeColumn) && !n.equals(s.idColumn)) {
                    values.add(n);
                }
            }
        }
        for (String v : values) {
            if (!names.contains(v)) {
                throw new IllegalArgumentException(where + ": no value column '" + v + "'; columns are " + names);
            }
        }
        if (values.isEmpty()) {
            throw new IllegalArgumentException(where + ": no value columns besides id and time");
        }
        return values;
    }

    /** Parquet rows as (sid, time_text, time_ms, vals, error): typed columns, matched by name. */
    private static Dataset<Row> parquetRows(Dataset<Row> raw, String input, List<String> values, JobSettings s) {
        StructType schema = raw.schema();
        valueColumns(input, Arrays.asList(schema.fieldNames()), s);
        Column id = s.idColumn == null ? lit(input) : col(s.idColumn).cast("string");
        Column[] vals = values.stream().map(v -> col(v).cast("string")).toArray(Column[]::new);
        Column time = timeMillis(schema.apply(s.timeColumn).dataType(), col(s.timeColumn));
        Column timeText = col(s.timeColumn).cast("string");
        return raw.select(id.as("sid"), timeText.as("time_text"), time.as("time_ms"), array(vals).as("vals"),
                // an unreadable time, or a missing series id, is that row's error (its series stops there)
                when(id.isNull(), concat(lit(input + ": column '" + s.idColumn + "' (series id) is null at time "),
                        coalesce(timeText, lit("null"))))
                        .when(time.isNull(), concat(lit("time '"), coalesce(timeText, lit("null")),
                                lit("' is neither a number nor an ISO-8601 timestamp")))
                        .as("error"), lit(input).as("file"));
    }

    /**
     * The value columns from the first readable file's header (every file is checked again when it is read):
     * with --on-error report an unreadable first file is only that file's error row, so the next one is asked.
     */
    private static List<String> csvValueColumns(List<Path> files, JobSettings s) {
        IllegalArgumentException firstError = null;
        for (Path f : files) {
            try (TimeSeriesCsvReader r = new TimeSeriesCsvReader(f, s.idColumn, s.timeColumn, List.of(s.timeColumn))) {
                return valueColumns(f.toString(), r.header(), s);
            } catch (java.io.IOException e) {
                if (!s.onError.equals("report")) {
                    throw new IllegalArgumentException(e.getMessage(), e);
                }
                firstError = firstError != null ? firstError : new IllegalArgumentException(e.getMessage(), e);
            }
        }
        throw firstError;
    }

    private static final StructType CSV_ROWS = new StructType()
            .add("sid", DataTypes.StringType, false).add("time_text", DataTypes.StringType)
            .add("time_ms", DataTypes.DoubleType).add("vals", DataTypes.createArrayType(DataTypes.StringType))
            .add("error", DataTypes.StringType).add("file", DataTypes.StringType, false);

    /**
     * CSV rows read on the executors with this project's strict reader ({@link TimeSeriesCsvReader}: columns by
     * each file's own header, RFC 4180 quoting, the delimiter detected, ISO-8601 times): Spark's CSV source
     * applies the first file's header to every file by position and drops or invents fields on ragged rows.
     * Without --id-column each file is one series, named after the file (its path when names repeat). A file
     * larger than --split-size is read as ranges by several tasks ({@link CsvParts}).
     */
    private static Dataset<Row> csvRows(SparkSession spark, List<Path> files, List<String> values, JobSettings s) {
        java.util.Map<String, Long> names = files.stream().collect(java.util.stream.Collectors.groupingBy(
                TimeSeriesChunks::stem, java.util.stream.Collectors.counting()));
        List<String> ids = new ArrayList<>();
        for (Path f : files) {
            ids.add(names.get(stem(f)) > 1 ? f.toAbsolutePath().toString().replaceFirst("\\.[^./]*$", "") : stem(f));
        }
        CsvParts.Columns cols = new CsvParts.Columns(s.idColumn, s.timeColumn, values);
        boolean report = s.onError.equals("report");
        List<CsvParts.Part> parts = CsvParts.plan(spark, files, ids, cols, s.splitBytes, report);
        int n = Math.max(1, Math.min(parts.size(), spark.sparkContext().defaultParallelism()));
        var rows = org.apache.spark.api.java.JavaSparkContext.fromSparkContext(spark.sparkContext())
                .parallelize(parts, n).flatMap(new ReadCsv(cols, report));
        return spark.createDataFrame(rows, CSV_ROWS);
    }

    private static String stem(Path f) {
        String n = f.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 ? n.substring(0, dot) : n;
    }

    /** Reads one CSV part (a file, or a range of one) into rows; a bad time or value is that row's error. */
    private static final class ReadCsv implements FlatMapFunction<CsvParts.Part, Row> {
        private static final long serialVersionUID = 1L;
        private final CsvParts.Columns cols;
        private final boolean report;

        ReadCsv(CsvParts.Columns cols, boolean report) {
            this.cols = cols;
            this.report = report;
        }

        @Override
        public Iterator<Row> call(CsvParts.Part part) throws Exception {
            Path file = Path.of(part.file());
            if (part.error() != null) {
                return List.of(fileError(file, part.error())).iterator();  // a large file's fault (CsvParts)
            }
            if (report && !part.isRange()) {
                // A malformed file is one error row and nothing else, so its structure is checked in a first
                // pass: rows already handed on could not be taken back (only --on-error report reads twice; the
                // ranges of a large file were checked before the read, by CsvParts).
                try (TimeSeriesCsvReader check = cols.open(part)) {
                    while (check.nextCells() != null) {
                        // fields and ids only; times and values are the rows' own errors
                    }
                } catch (InputFormatException e) {
                    return List.of(fileError(file, e.getMessage())).iterator();
                }
            }
            TimeSeriesCsvReader r = cols.open(part);
            return new Iterator<>() {
                Row next;
                boolean done;

                @Override
                public boolean hasNext() {
                    if (next == null && !done) {
                        next = read();
                    }
                    return next != null;
                }

                @Override
                public Row next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    Row out = next;
                    next = null;
                    return out;
                }

                private Row read() {
                    try {
                        TimeSeriesCells c = r.nextCells();
                        if (c == null) {
                            done = true;
                            r.close();
                            return null;
                        }
                        Double time = null;
                        String error = null;
                        try {
                            time = r.time(c);
                            r.values(c);
                        } catch (InputFormatException e) {
                            error = e.getMessage();
                        }
                        return RowFactory.create(c.seriesId(), c.timeText(), time, c.values(), error, file.toString());
                    } catch (InputFormatException e) {
                        // the file's structure is broken (ragged row, empty id): the job fails (report mode checked
                        // the structure before the first row)
                        done = true;
                        closeQuietly();
                        throw new java.io.UncheckedIOException(e.getMessage(), e);
                    } catch (java.io.IOException e) {
                        closeQuietly();
                        throw new java.io.UncheckedIOException(file + ": " + IoMessages.reason(e), e);
                    }
                }

                private void closeQuietly() {
                    try {
                        r.close();
                    } catch (java.io.IOException ignored) {
                        // reading already failed; that error is the one to report
                    }
                }
            };
        }

        /** --on-error report: the file's error as a row of a series of its own, named after the file. */
        private static Row fileError(Path file, String message) {
            return RowFactory.create(file.toString(), null, null, new String[0], message, file.toString());
        }
    }

    /** Epoch milliseconds for timestamps/dates/ISO-8601 text; numbers are taken as they are. */
    private static Column timeMillis(DataType t, Column c) {
        if (t.equals(DataTypes.TimestampType) || t.equals(DataTypes.TimestampNTZType)) {
            return unix_micros(c.cast("timestamp")).divide(1000.0);
        }
        if (t.equals(DataTypes.DateType)) {
            return unix_date(c).multiply(86_400_000.0);
        }
        if (t instanceof org.apache.spark.sql.types.NumericType) {
            return c.cast("double");
        }
        return coalesce(c.cast("double"), unix_micros(try_to_timestamp(c)).divide(1000.0));
    }

    /** Groups each series' consecutive rows into chunks (one partition, already sorted). */
    private static final class Build implements MapPartitionsFunction<Row, Row> {
        private static final long serialVersionUID = 1L;
        private final int chunkLength;
        private final List<String> columns;

        Build(int chunkLength, List<String> columns) {
            this.chunkLength = chunkLength;
            this.columns = columns;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> in) {
            final int k = columns.size();
            java.util.Map<String, Double> lastTime = new java.util.HashMap<>();
            java.util.Set<String> failed = new java.util.HashSet<>();
            return new Iterator<>() {
                Row pending;
                final java.util.ArrayDeque<Row> ready = new java.util.ArrayDeque<>();

                @Override
                public boolean hasNext() {
                    while (ready.isEmpty() && (pending != null || in.hasNext())) {
                        build();
                    }
                    return !ready.isEmpty();
                }

                @Override
                public Row next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    return ready.poll();
                }

                /** Reads the rows of one (series, chunk) and queues its chunk row (or an error row). */
                private void build() {
                    Row first = pending != null ? pending : in.next();
                    pending = null;
                    String sid = first.getString(0), file = first.getString(5);  // the series' (first) file
                    long chunk = first.getLong(6) / chunkLength, n = first.getLong(7);
                    float[] v = new float[chunkLength * k];
                    double[] t = new double[chunkLength];
                    int len = 0;
                    String error = null;
                    long errorStep = first.getLong(6);
                    Row r = first;
                    while (true) {
                        if (error == null && !failed.contains(sid)) {
                            error = check(r, sid, v, t, len, lastTime);
                            errorStep = r.getLong(6);
                            if (error == null) {
                                len++;
                            }
                        }
                        if (!in.hasNext()) {
                            break;
                        }
                        Row nx = in.next();
                        if (!java.util.Objects.equals(nx.getString(0), sid) || nx.getLong(6) / chunkLength != chunk) {
                            pending = nx;
                            break;
                        }
                        r = nx;
                    }
                    if (failed.contains(sid)) {
                        return;
                    }
                    if (error != null) {
                        failed.add(sid);
                        if (len > 0) {  // the steps before the bad row run (their rows stay), then the series fails
                            ready.add(chunkRow(sid, file, chunk, v, t, len, false));
                        }
                        ready.add(RowFactory.create(sid, file, chunk, errorStep, 0, true, null, k, error, null));
                        return;
                    }
                    ready.add(chunkRow(sid, file, chunk, v, t, len, chunk == (n - 1) / chunkLength));
                }

                private Row chunkRow(String sid, String file, long chunk, float[] v, double[] t, int len, boolean last) {
                    ByteBuffer pb = ByteBuffer.allocate(4 * len * k).order(ByteOrder.LITTLE_ENDIAN);
                    pb.asFloatBuffer().put(v, 0, len * k);
                    ByteBuffer tb = ByteBuffer.allocate(8 * len).order(ByteOrder.LITTLE_ENDIAN);
                    tb.asDoubleBuffer().put(t, 0, len);
                    return RowFactory.create(sid, file, chunk, chunk * chunkLength, len, last, pb.array(), k, null, tb.array());
                }

                /** Parses one row into the chunk arrays; returns an error message or null. */
                private String check(Row r, String sid, float[] v, double[] t, int at, java.util.Map<String, Double> last) {
                    String timeText = r.isNullAt(1) ? null : r.getString(1);
                    if (!r.isNullAt(4)) {
                        // a file-level error is its own series, named after the file its message starts with
                        return r.getString(4).startsWith(String.valueOf(sid)) ? r.getString(4) : "series " + sid + ": " + r.getString(4);
                    }
                    if (r.isNullAt(2)) {
                        return "series " + sid + ": time '" + timeText + "' is neither a number nor an ISO-8601 timestamp";
                    }
                    double time = r.getDouble(2);
                    Double prev = last.put(sid, time);
                    if (prev != null && prev == time) {
                        return "series " + sid + ": duplicate time " + timeText;
                    }
                    List<String> vals = r.getList(3);
                    for (int f = 0; f < k; f++) {
                        String sv = vals.get(f);
                        try {  // the CSV reader's rule (CSV values were checked already; Parquet ones come as text)
                            v[at * k + f] = TimeSeriesCsvReader.value(columns.get(f), sv == null ? "" : sv.trim());
                        } catch (IllegalArgumentException e) {
                            return "series " + sid + ", time " + timeText + ": " + e.getMessage();
                        }
                    }
                    t[at] = time;
                    return null;
                }
            };
        }
    }
}
