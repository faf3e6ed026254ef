package dev.mamba.jobs.report;

import dev.mamba.jobs.spark.OutputDir;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.size;

/** The embed job's figure: a 2-D PCA projection of {@code embedding_mean}, coloured by input file. */
public final class EmbedFigures {
    /** Rows collected to the driver for the PCA at most. */
    public static final int MAX_ROWS = 20_000;
    /** Floats collected at most (rows × hidden size), so a wide model does not fill the driver. */
    static final long MAX_VALUES = 8_000_000L;

    private EmbedFigures() {
    }

    /** Draws pca.png from the embeddings part of the staging output. */
    public static void draw(SparkSession spark, OutputDir out, Path dir, ReportPage page) throws Exception {
        Dataset<Row> emb = spark.read().parquet(out.part("embeddings")).filter(col("embedding_mean").isNotNull());
        List<Row> first = emb.select(size(col("embedding_mean"))).limit(1).collectAsList();
        if (first.isEmpty()) {
            page.note("No embeddings: nothing to project.");
            return;
        }
        int dim = first.get(0).getInt(0);
        long total = emb.count();
        int cap = (int) Math.max(2, Math.min(MAX_ROWS, MAX_VALUES / Math.max(1, dim)));
        List<Row> rows = emb.select("file", "sequence_id", "embedding_mean").orderBy(col("file"), col("sequence_id"))
                .limit(cap).collectAsList();
        if (rows.size() < 3) {
            page.note("PCA needs at least 3 embeddings; this run has " + rows.size() + ".");
            return;
        }
        float[][] x = new float[rows.size()][];
        for (int i = 0; i < x.length; i++) {
            List<Float> l = rows.get(i).getList(2);
            x[i] = new float[l.size()];
            for (int j = 0; j < x[i].length; j++) {
                x[i][j] = l.get(j);
            }
        }
        Pca pca = Pca.fit(x, 2);
        // files in name order; beyond the palette the rest share one "other" colour
        Map<String, Integer> count = new TreeMap<>();
        for (Row r : rows) {
            count.merge(RunReport.fileName(r.getString(0)), 1, Integer::sum);
        }
        List<String> named = count.keySet().stream().limit(Plots.PALETTE.length - 1L).toList();
        int others = count.size() - named.size();
        String otherLabel = "other files (" + others + ")";
        Map<String, List<double[]>> groups = new LinkedHashMap<>();
        named.forEach(f -> groups.put(f, new java.util.ArrayList<>()));
        for (int i = 0; i < x.length; i++) {
            String f = RunReport.fileName(rows.get(i).getString(0));
            groups.computeIfAbsent(named.contains(f) ? f : otherLabel, k -> new java.util.ArrayList<>()).add(pca.project(x[i]));
        }
        Map<String, double[][]> pts = new LinkedHashMap<>();
        groups.forEach((k, v) -> pts.put(k + " (" + v.size() + ")", v.toArray(new double[0][])));
        String title = String.format(Locale.ROOT, "embedding_mean, PCA of %,d sequence(s)%s", x.length,
                total > x.length ? String.format(Locale.ROOT, " (the first %,d of %,d by file and id)", x.length, total) : "");
        Plots.png(Plots.scatter(title,
                String.format(Locale.ROOT, "PC1 (%.1f%% of variance)", 100 * pca.explained(0)),
                String.format(Locale.ROOT, "PC2 (%.1f%% of variance)", 100 * pca.explained(1)), pts), dir.resolve("pca.png"));
        page.figure("pca.png", String.format(Locale.ROOT, "Mean final hidden state of each sequence (%d dimensions) "
                + "projected on its first two principal components, coloured by input file.", dim));
    }
}
