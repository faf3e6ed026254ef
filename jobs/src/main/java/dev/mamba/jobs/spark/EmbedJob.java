package dev.mamba.jobs.spark;

import dev.mamba.jobs.report.EmbedFigures;
import dev.mamba.jobs.report.RunReport;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;

import java.io.IOException;
import java.util.Map;

import static org.apache.spark.sql.functions.col;

/**
 * Embed: one row per input sequence with its mean and last final hidden state; optional per-window
 * means; sequences that cannot be processed go to the errors part.
 * Output parts: {@code embeddings/}, {@code windows/} (with --window), {@code errors/}, summary.json, report/.
 */
public final class EmbedJob extends SequenceJob {
    private static final long serialVersionUID = 1L;

    public EmbedJob(JobSettings settings) {
        super(settings);
    }

    @Override
    protected String name() {
        return "embed";
    }

    @Override
    protected StructType rowSchema() {
        return EmbedSink.ROWS;
    }

    @Override
    protected String sequenceKind() {
        return "embedding";
    }

    @Override
    protected RowSink sink(ExecutorRuntime.Lease lease) {
        return new EmbedSink(lease.model.config().hiddenSize, settings.window);
    }

    @Override
    protected void describe(Map<String, String> out) {
        out.put("window", String.valueOf(settings.window));
    }

    /** report/: run summary, the PCA of embedding_mean by file, the first errors. */
    @Override
    protected void afterParts(SparkSession spark, OutputDir out, JobSummary summary) throws IOException {
        RunReport.write(spark, out, summary, (dir, page) -> EmbedFigures.draw(spark, out, dir, page));
    }

    @Override
    protected void writeParts(Dataset<Row> rows, OutputDir out) {
        rows.filter(col("kind").equalTo("embedding"))
                .select("sequence_id", "file", "length", "embedding_mean", "embedding_last")
                .write().parquet(out.part("embeddings"));
        if (settings.window > 0) {
            rows.filter(col("kind").equalTo("window"))
                    .select(col("sequence_id"), col("file"), col("window_start"), col("window_end"),
                            col("embedding_mean"))
                    .write().parquet(out.part("windows"));
        }
        rows.filter(col("kind").equalTo("error"))
                .select(col("sequence_id"), col("file"), col("error_position").as("position"),
                        col("error_reason").as("reason"))
                .write().parquet(out.part("errors"));
    }
}
