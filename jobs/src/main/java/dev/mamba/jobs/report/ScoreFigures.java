package dev.mamba.jobs.report;

import dev.mamba.jobs.spark.OutputDir;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.apache.spark.sql.functions.avg;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.floor;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.max;
import static org.apache.spark.sql.functions.min;
import static org.apache.spark.sql.functions.when;

/**
 * The score job's figures, read back from the written Parquet with Spark and limited to the top sequences.
 * Continuous models: the largest max_score per series, and for the top series value, prediction and score
 * along the steps with flagged steps marked. Token models: mean NLL per sequence, and NLL along the position
 * for the sequences with the highest mean. Long sequences are averaged over bins on the executors so the
 * driver collects a few thousand points per plot.
 */
public final class ScoreFigures {
    /** Series or sequences drawn one plot each. */
    public static final int TOP = 5;
    /** Bars of the per-sequence charts at most. */
    public static final int BARS = 40;
    /** Points per line plot at most (beyond that, bins). */
    static final int SERIES_POINTS = 4000;
    static final int NLL_POINTS = 1000;

    private ScoreFigures() {
    }

    /** Continuous models: max_score.png and series_1.png … for the top series. */
    public static void series(SparkSession spark, OutputDir out, Path dir, ReportPage page, double threshold)
            throws Exception {
        Dataset<Row> series = spark.read().parquet(out.part("series")).filter(col("max_score").isNotNull());
        long n = series.count();
        if (n == 0) {
            page.note("No scored series.");
            return;
        }
        List<Row> ranked = series.orderBy(col("max_score").desc(), col("series_id")).limit(BARS).collectAsList();
        Map<String, Double> bars = new LinkedHashMap<>();
        for (Row r : ranked) {
            bars.put(uniqueLabel(bars, r.getString(0)), r.getDouble(3));
        }
        Plots.png(Plots.bars(n > BARS ? "max_score, the " + BARS + " highest of " + n + " series" : "max_score per series",
                "series", "max_score", bars, threshold, "threshold " + Plots.fmt(threshold)), dir.resolve("max_score.png"));
        page.figure("max_score.png", "Highest anomaly score of each series (times its usual error); steps above the "
                + "threshold are flagged.");
        if (!Files.isDirectory(out.staging().resolve("steps"))) {
            page.note("Per-step rows were not written (--no-per-step): no per-series plots.");
            return;
        }
        List<Row> top = ranked.subList(0, Math.min(TOP, ranked.size()));
        Map<String, Long> bin = new LinkedHashMap<>();
        for (Row r : top) {
            bin.put(r.getString(0), Math.max(1, (r.getLong(2) + SERIES_POINTS - 1) / SERIES_POINTS));
        }
        Dataset<Row> steps = spark.read().parquet(out.part("steps")).filter(col("series_id").isin(bin.keySet().toArray()));
        List<Row> pts = steps.withColumn("bin", floor(col("step").divide(binColumn("series_id", bin))))
                .groupBy(col("series_id"), col("bin"))
                .agg(min("step").as("x"), avg(col("value").getItem(0)).as("v"), avg(col("prediction").getItem(0)).as("p"),
                        max("score").as("s"), max(when(col("anomaly"), 1).otherwise(0)).as("a"), count(lit(1)).as("k"))
                .orderBy("series_id", "x").collectAsList();
        Map<String, List<Row>> bySeries = new HashMap<>();
        for (Row r : pts) {
            bySeries.computeIfAbsent(r.getString(0), k -> new ArrayList<>()).add(r);
        }
        int i = 0;
        for (Row t : top) {
            String id = t.getString(0);
            List<Row> rs = bySeries.getOrDefault(id, List.of());
            if (rs.isEmpty()) {
                continue;
            }
            int m = rs.size();
            double[] x = new double[m], v = new double[m], p = new double[m], s = new double[m];
            List<double[]> flags = new ArrayList<>();
            for (int k = 0; k < m; k++) {
                Row r = rs.get(k);
                x[k] = r.getLong(2);
                v[k] = num(r, 3);
                p[k] = num(r, 4);
                s[k] = num(r, 5);
                if (r.getInt(6) > 0) {
                    flags.add(new double[]{x[k], v[k], s[k]});
                }
            }
            long b = bin.get(id);
            String name = "series_" + (++i) + ".png";
            Plots.png(Plots.valueAndScore(String.format(Locale.ROOT, "%s: max score %.1f, %,d flagged step(s)",
                            label(id), t.getDouble(3), t.getLong(4)), "step",
                    new Plots.Line(b > 1 ? "value[0], bin mean" : "value[0]", x, v),
                    new Plots.Line("prediction[0]", x, p), new Plots.Line(b > 1 ? "score, bin max" : "score", x, s),
                    threshold, column(flags, 0), column(flags, 1), column(flags, 2)), dir.resolve(name));
            page.figure(name, "Series " + id + ": the value (first feature) and its one-step-ahead prediction above, "
                    + "the anomaly score and the threshold below; flagged steps in red"
                    + (b > 1 ? String.format(Locale.ROOT, " (bins of %,d steps: mean value, maximum score)", b) : "") + ".");
        }
    }

    /** Token models: nll_mean.png and nll_1.png … for the sequences with the highest mean NLL. */
    public static void tokens(SparkSession spark, OutputDir out, Path dir, ReportPage page) throws Exception {
        Dataset<Row> seqs = spark.read().parquet(out.part("sequences")).filter(col("nll_mean").isNotNull());
        long n = seqs.count();
        if (n == 0) {
            page.note("No sequence has a mean NLL (all shorter than 2 symbols).");
            return;
        }
        List<Row> ranked = seqs.orderBy(col("nll_mean").desc(), col("sequence_id")).limit(BARS).collectAsList();
        Map<String, Double> bars = new LinkedHashMap<>();
        for (Row r : ranked) {
            bars.put(uniqueLabel(bars, r.getString(0)), r.getDouble(3));
        }
        Plots.png(Plots.bars(n > BARS ? "mean NLL, the " + BARS + " highest of " + n + " sequences" : "mean NLL per sequence",
                "sequence", "nll_mean (nats/symbol)", bars, null, null), dir.resolve("nll_mean.png"));
        page.figure("nll_mean.png", "Mean negative log-likelihood of the next symbol per sequence (perplexity = exp).");
        if (!Files.isDirectory(out.staging().resolve("positions"))) {
            page.note("Per-position rows were not written (--no-per-step): no per-sequence plots.");
            return;
        }
        List<Row> top = ranked.subList(0, Math.min(TOP, ranked.size()));
        Map<String, Long> bin = new LinkedHashMap<>();
        for (Row r : top) {
            bin.put(r.getString(0), Math.max(1, (r.getLong(2) + NLL_POINTS - 1) / NLL_POINTS));
        }
        List<Row> pts = spark.read().parquet(out.part("positions")).filter(col("sequence_id").isin(bin.keySet().toArray()))
                .filter(col("nll").isNotNull())
                .withColumn("bin", floor(col("position").divide(binColumn("sequence_id", bin))))
                .groupBy(col("sequence_id"), col("bin")).agg(min("position").as("x"), avg("nll").as("y"))
                .orderBy("sequence_id", "x").collectAsList();
        Map<String, List<Row>> bySeq = new HashMap<>();
        for (Row r : pts) {
            bySeq.computeIfAbsent(r.getString(0), k -> new ArrayList<>()).add(r);
        }
        int i = 0;
        for (Row t : top) {
            String id = t.getString(0);
            List<Row> rs = bySeq.getOrDefault(id, List.of());
            if (rs.isEmpty()) {
                continue;
            }
            double[] x = new double[rs.size()], y = new double[rs.size()];
            for (int k = 0; k < x.length; k++) {
                x[k] = rs.get(k).getLong(2);
                y[k] = num(rs.get(k), 3);
            }
            long b = bin.get(id);
            String name = "nll_" + (++i) + ".png";
            Plots.png(Plots.lines(String.format(Locale.ROOT, "%s: %,d symbols, mean NLL %.3f", label(id), t.getLong(2),
                            t.getDouble(3)), "position", b > 1 ? "NLL, bin mean" : "NLL",
                    List.of(new Plots.Line(b > 1 ? "NLL, mean of " + b + " positions" : "NLL", x, y))), dir.resolve(name));
            page.figure(name, "Sequence " + id + ": negative log-likelihood of the next symbol along the sequence"
                    + (b > 1 ? String.format(Locale.ROOT, " (mean over bins of %,d positions)", b) : "") + ".");
        }
    }

    /** A per-id bin width as a column expression (a handful of ids). */
    private static Column binColumn(String idColumn, Map<String, Long> bin) {
        Column c = null;
        for (Map.Entry<String, Long> e : bin.entrySet()) {
            c = c == null ? when(col(idColumn).equalTo(e.getKey()), e.getValue())
                    : c.when(col(idColumn).equalTo(e.getKey()), e.getValue());
        }
        return c.otherwise(1L);
    }

    private static double num(Row r, int i) {
        return r.isNullAt(i) ? Double.NaN : ((Number) r.get(i)).doubleValue();
    }

    private static double[] column(List<double[]> rows, int j) {
        double[] a = new double[rows.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = rows.get(i)[j];
        }
        return a;
    }

    /** A bar label not yet taken (shortened ids may collide). */
    private static String uniqueLabel(Map<String, Double> taken, String id) {
        String l = label(id);
        for (int k = 2; taken.containsKey(l); k++) {
            l = label(id) + " #" + k;
        }
        return l;
    }

    /** Ids as chart labels: long ones shortened. */
    static String label(String id) {
        if (id == null) {
            return "(null)";
        }
        return id.length() > 28 ? id.substring(0, 27) + "…" : id;
    }
}
