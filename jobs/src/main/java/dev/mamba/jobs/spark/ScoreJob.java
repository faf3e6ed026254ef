package dev.mamba.jobs.spark;

import dev.mamba.pipeline.batch.FeatureEncoder;
import dev.mamba.pipeline.batch.StepEncoder;
import dev.mamba.pipeline.config.ModelFamily;
import dev.mamba.jobs.report.RunReport;
import dev.mamba.jobs.report.ScoreFigures;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;

import java.io.IOException;
import java.util.Map;

import static org.apache.spark.sql.functions.col;

/**
 * Score. Token models (FASTA/FASTQ): per-position negative log-likelihood ({@code positions/}) and per
 * sequence its mean and perplexity ({@code sequences/}). Continuous models (time series in CSV/Parquet,
 * WAV): per step the prediction, its error and an anomaly score normalised causally per series
 * ({@code steps/}), per series the maximum score and the flag count ({@code series/}). Sequences that
 * cannot be processed go to {@code errors/}.
 */
public final class ScoreJob extends SequenceJob {
    private static final long serialVersionUID = 1L;
    private final boolean tokens;

    public ScoreJob(JobSettings settings, ModelFamily family) {
        super(settings);
        this.tokens = family == ModelFamily.TOKENS;
    }

    @Override
    protected String name() {
        return "score";
    }

    @Override
    protected StructType rowSchema() {
        return tokens ? TokenScoreSink.ROWS : SeriesScoreSink.ROWS;
    }

    @Override
    protected String sequenceKind() {
        return tokens ? "sequence" : "series";
    }

    @Override
    protected RowSink sink(ExecutorRuntime.Lease lease) {
        var cfg = lease.model.config();
        if (tokens) {
            if (!lease.model.hasLmHead()) {
                throw new IllegalStateException("model " + settings.model + " has no LM head: score needs one");
            }
            return new TokenScoreSink(settings.perStep);
        }
        if (cfg.outputFeatures != cfg.inputFeatures) {
            throw new IllegalStateException("model " + settings.model + " predicts " + cfg.outputFeatures
                    + " outputs per step but reads " + cfg.inputFeatures + ": score needs a next-step forecaster");
        }
        return new SeriesScoreSink(cfg.inputFeatures, settings);
    }

    @Override
    StepEncoder encoder(ExecutorRuntime.Lease lease) {
        return tokens ? super.encoder(lease) : new FeatureEncoder(lease.model.config().inputFeatures, true);
    }

    @Override
    protected void describe(Map<String, String> out) {
        out.put("per_step", String.valueOf(settings.perStep));
        if (!tokens) {
            out.put("id_column", String.valueOf(settings.idColumn));
            out.put("time_column", settings.timeColumn);
            out.put("value_columns", settings.valueColumns.isEmpty() ? "(all others)" : String.join(",", settings.valueColumns));
            out.put("threshold", String.valueOf(settings.threshold));
            out.put("warmup", String.valueOf(settings.warmup));
            out.put("norm_half_life", String.valueOf(settings.normHalfLife));
            out.put("error_half_life", String.valueOf(settings.errorHalfLife));
        }
    }

    /** report/: run summary, the top series (continuous) or sequences (tokens), the first errors. */
    @Override
    protected void afterParts(SparkSession spark, OutputDir out, JobSummary summary) throws IOException {
        RunReport.write(spark, out, summary, (dir, page) -> {
            if (tokens) {
                ScoreFigures.tokens(spark, out, dir, page);
            } else {
                ScoreFigures.series(spark, out, dir, page, settings.threshold);
            }
        });
    }

    @Override
    protected void writeParts(Dataset<Row> rows, OutputDir out) {
        if (tokens) {
            if (settings.perStep) {
                rows.filter(col("kind").equalTo("position"))
                        .select("sequence_id", "file", "position", "symbol", "nll")
                        .write().parquet(out.part("positions"));
            }
            rows.filter(col("kind").equalTo("sequence"))
                    .select("sequence_id", "file", "length", "nll_mean", "perplexity")
                    .write().parquet(out.part("sequences"));
        } else {
            if (settings.perStep) {
                rows.filter(col("kind").equalTo("step"))
                        .select("series_id", "step", "time", "value", "prediction", "error", "score", "anomaly")
                        .write().parquet(out.part("steps"));
            }
            rows.filter(col("kind").equalTo("series"))
                    .select("series_id", "file", "length", "max_score", "anomalies")
                    .write().parquet(out.part("series"));
        }
        rows.filter(col("kind").equalTo("error"))
                .select(col(tokens ? "sequence_id" : "series_id").as("sequence_id"), col("file"),
                        col("error_position").as("position"), col("error_reason").as("reason"))
                .write().parquet(out.part("errors"));
    }
}
