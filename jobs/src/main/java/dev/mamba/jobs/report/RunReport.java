package dev.mamba.jobs.report;

import dev.mamba.jobs.spark.JobSummary;
import dev.mamba.jobs.spark.OutputDir;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.apache.spark.sql.functions.col;

/**
 * A job's run report, {@code report/index.html} plus PNG plots, written into the output's staging directory
 * before it is committed: the run summary and throughput, the job's own figures, the first errors and the
 * settings. Drawing a figure may fail (no fonts on a minimal JDK): the page then says why, the job's
 * outputs are unaffected.
 */
public final class RunReport {
    private static final Logger LOG = LoggerFactory.getLogger(RunReport.class);
    /** Errors listed on the page; the rest are in errors/. */
    static final int ERRORS_SHOWN = 20;

    private RunReport() {
    }

    /** Draws a job's figures into the report directory and adds them to the page. */
    @FunctionalInterface
    public interface Figures {
        void draw(Path dir, ReportPage page) throws Exception;
    }

    /** Writes {@code report/} under the staging directory; returns its index.html. */
    public static Path write(SparkSession spark, OutputDir out, JobSummary summary, Figures figures) throws IOException {
        Plots.headless();
        Path dir = Files.createDirectories(out.staging().resolve("report"));
        ReportPage page = new ReportPage("mamba-pipeline " + summary.job + " report");
        page.heading("Run");
        List<List<String>> run = new ArrayList<>();
        run.add(List.of("job", summary.job));
        run.add(List.of("sequences", String.format(Locale.ROOT, "%,d", summary.sequences)));
        run.add(List.of("steps", String.format(Locale.ROOT, "%,d", summary.steps)));
        run.add(List.of("chunks", String.format(Locale.ROOT, "%,d", summary.chunks)));
        run.add(List.of("errors", String.format(Locale.ROOT, "%,d", summary.errors)));
        run.add(List.of("wall time", String.format(Locale.ROOT, "%.1f s", summary.seconds)));
        run.add(List.of("throughput", String.format(Locale.ROOT, "%,.0f steps/s", summary.stepsPerSecond())));
        for (Map.Entry<String, Long> e : summary.rows.entrySet()) {
            run.add(List.of("rows: " + e.getKey(), String.format(Locale.ROOT, "%,d", e.getValue())));
        }
        run.add(List.of("written", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString()));
        page.table(null, run, true);

        page.heading("Plots");
        try {
            figures.draw(dir, page);
        } catch (Exception | LinkageError | InternalError | AssertionError e) {
            // e.g. java.lang.Error "Probable fatal error: No fonts found" on a JDK without fontconfig/fonts
            LOG.warn("run report: plots not drawn: {}", e.toString(), e);
            page.note("Plots could not be drawn: " + e + (e.getMessage() != null && e.getMessage().contains("font")
                    ? " (install fontconfig and a font, e.g. Debian's fonts-dejavu-core)" : ""));
            removeUnlinked(dir, page.figures());
        }

        page.heading("Errors");
        page.note(summary.errors == 0 ? "No errors."
                : String.format(Locale.ROOT, "%,d sequence(s) or file(s) failed; %s in errors/.", summary.errors,
                summary.errors > ERRORS_SHOWN ? "the first " + ERRORS_SHOWN + " below, all" : "listed below and"));
        if (summary.errors > 0) {
            List<List<String>> rows = new ArrayList<>();
            for (Row r : spark.read().parquet(out.part("errors")).orderBy(col("file"), col("sequence_id"), col("position"))
                    .limit(ERRORS_SHOWN).collectAsList()) {
                rows.add(List.of(str(r, "sequence_id"), str(r, "file"), str(r, "position"), str(r, "reason")));
            }
            page.table(List.of("sequence", "file", "position", "reason"), rows, false);
        }

        page.heading("Settings");
        List<List<String>> st = new ArrayList<>();
        summary.settings.forEach((k, v) -> st.add(List.of(k, String.valueOf(v))));
        page.table(null, st, true);
        return page.write(dir);
    }

    /** Deletes PNGs the page does not show (one half-written when drawing failed). */
    private static void removeUnlinked(Path dir, List<String> linked) throws IOException {
        try (var s = Files.list(dir)) {
            for (Path p : (Iterable<Path>) s::iterator) {
                if (p.getFileName().toString().endsWith(".png") && !linked.contains(p.getFileName().toString())) {
                    Files.delete(p);
                }
            }
        }
    }

    static String str(Row r, String field) {
        Object v = r.get(r.fieldIndex(field));
        return v == null ? "" : v.toString();
    }

    /** The last path segment of a file URI or path, for legends. */
    static String fileName(String file) {
        if (file == null) {
            return "(none)";
        }
        String f = file.endsWith("/") ? file.substring(0, file.length() - 1) : file;
        int i = f.lastIndexOf('/');
        return i >= 0 ? f.substring(i + 1) : f;
    }
}
