package dev.mamba.jobs.spark;

import dev.mamba.jobs.source.ChunkSchema;
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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;

import static org.apache.spark.sql.functions.*;

/**
 * Time series from CSV or Parquet (a series-id column, a time column, one or more value columns) as a
 * DataFrame of chunks ({@link ChunkSchema#WITH_TIMES}): rows are numbered per series in time order
 * inside the job, series are hash-partitioned so a partition holds about {@code lanes} of them, and each
 * partition is sorted by (chunk index, series, step) so its series interleave and share the lanes.
 * Non-numeric or non-finite values, unparseable times and duplicate times become error rows that
 * name the series, the time and the column.
 */
final class TimeSeriesChunks {
    private TimeSeriesChunks() {
    }

    static Dataset<Row> read(SparkSession spark, String format, List<String> inputs, JobSettings s) {
        Dataset<Row> raw;
        if (format.equals("csv")) {
            raw = spark.read().option("header", "true").option("inferSchema", "false").option("mode", "PERMISSIVE")
                    .csv(inputs.toArray(new String[0]));
        } else {
            raw = spark.read().parquet(inputs.toArray(new String[0]));
        }
        StructType schema = raw.schema();
        List<String> names = Arrays.asList(schema.fieldNames());
        String where = String.join(", ", inputs);
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
        Column id = s.idColumn == null ? lit(where) : coalesce(col(s.idColumn).cast("string"), lit(""));
        Column[] vals = values.stream().map(v -> col(v).cast("string")).toArray(Column[]::new);
        Dataset<Row> df = raw.select(id.as("sid"), col(s.timeColumn).cast("string").as("time_text"),
                timeMillis(schema.apply(s.timeColumn).dataType(), col(s.timeColumn)).as("time_ms"),
                array(vals).as("vals"));
        df = df.withColumn("step", row_number().over(Window.partitionBy("sid").orderBy(col("time_ms").asc_nulls_first())).minus(1).cast("long"))
                .withColumn("n", count(lit(1)).over(Window.partitionBy("sid")));
        long series = df.select("sid").distinct().count();
        int parts = (int) Math.max(1, Math.min(100_000, (series + s.lanes - 1) / s.lanes));
        long len = s.chunkLength;
        df = df.repartition(parts, col("sid"))
                .sortWithinPartitions(floor(col("step").divide(len)), col("sid"), col("step"));
        return df.mapPartitions(new Build(s.chunkLength, values, String.join(",", inputs)),
                Encoders.row(ChunkSchema.WITH_TIMES));
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
        private final String file;

        Build(int chunkLength, List<String> columns, String file) {
            this.chunkLength = chunkLength;
            this.columns = columns;
            this.file = file;
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
                    String sid = first.getString(0);
                    long chunk = first.getLong(4) / chunkLength, n = first.getLong(5);
                    float[] v = new float[chunkLength * k];
                    double[] t = new double[chunkLength];
                    int len = 0;
                    String error = null;
                    long errorStep = first.getLong(4);
                    Row r = first;
                    while (true) {
                        if (error == null && !failed.contains(sid)) {
                            error = check(r, sid, v, t, len, lastTime);
                            errorStep = r.getLong(4);
                            len++;
                        }
                        if (!in.hasNext()) {
                            break;
                        }
                        Row nx = in.next();
                        if (!nx.getString(0).equals(sid) || nx.getLong(4) / chunkLength != chunk) {
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
                        ready.add(RowFactory.create(sid, file, chunk, errorStep, 0, true, null, k, error, null));
                        return;
                    }
                    boolean last = chunk == (n - 1) / chunkLength;
                    ByteBuffer pb = ByteBuffer.allocate(4 * len * k).order(ByteOrder.LITTLE_ENDIAN);
                    pb.asFloatBuffer().put(v, 0, len * k);
                    ByteBuffer tb = ByteBuffer.allocate(8 * len).order(ByteOrder.LITTLE_ENDIAN);
                    tb.asDoubleBuffer().put(t, 0, len);
                    ready.add(RowFactory.create(sid, file, chunk, chunk * chunkLength, len, last, pb.array(), k, null,
                            tb.array()));
                }

                /** Parses one row into the chunk arrays; returns an error message or null. */
                private String check(Row r, String sid, float[] v, double[] t, int at, java.util.Map<String, Double> last) {
                    String timeText = r.isNullAt(1) ? null : r.getString(1);
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
                        float x;
                        try {
                            x = sv == null ? Float.NaN : Float.parseFloat(sv.trim());
                        } catch (NumberFormatException e) {
                            return "series " + sid + ", time " + timeText + ": column '" + columns.get(f) + "' = '" + sv
                                    + "' is not a number";
                        }
                        if (sv == null) {
                            return "series " + sid + ", time " + timeText + ": column '" + columns.get(f) + "' is empty";
                        }
                        if (!Float.isFinite(x)) {
                            return "series " + sid + ", time " + timeText + ": column '" + columns.get(f) + "' is "
                                    + sv.trim().toLowerCase(Locale.ROOT).replace("infinity", "Inf");
                        }
                        v[at * k + f] = x;
                    }
                    t[at] = time;
                    return null;
                }
            };
        }
    }
}
