package dev.mamba.jobs.spark;

import dev.mamba.jobs.source.InputFiles;
import dev.mamba.kernels.BackendChoice;
import dev.mamba.pipeline.batch.StepEncoder;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The shape every sequence job shares: read chunks with a data source, run each partition's chunks
 * through the model in lanes ({@link PartitionDriver}), write the result parts as Parquet under a
 * staging directory, count rows per kind, write summary.json, and move the directory into place.
 */
public abstract class SequenceJob implements Serializable {
    private static final Logger LOG = LoggerFactory.getLogger(SequenceJob.class);
    private static final long serialVersionUID = 1L;
    protected final JobSettings settings;

    protected SequenceJob(JobSettings settings) {
        this.settings = settings;
    }

    /** Job name for logs and the summary. */
    protected abstract String name();

    /** Schema of the rows the partition function yields (with a {@code kind} column). */
    protected abstract StructType rowSchema();

    /** Creates the sink on the executor. */
    protected abstract RowSink sink(ExecutorRuntime.Lease lease);

    /** Writes the output parts from the persisted rows. */
    protected abstract void writeParts(Dataset<Row> rows, OutputDir out);

    /** Runs the job; the output directory appears only when complete. */
    public JobSummary run(SparkSession spark, String format, List<String> inputs, Path output, boolean overwrite)
            throws IOException {
        settings.validate();
        InputPlan plan = InputPlan.of(settings, format, inputs);
        if (spark.sparkContext().isLocal()) {
            ExecutorRuntime.prepareLocal(settings);  // this JVM runs the tasks: load while Spark plans
        }
        long t0 = System.nanoTime();
        JobCounters counters = new JobCounters(spark);
        JobSummary summary = new JobSummary(name());
        try (OutputDir out = openOutput(inputs, output, overwrite);
             ProgressListener progress = new ProgressListener(counters.chunks, counters.steps, plan.totalSteps, plan.estimated)) {
            spark.sparkContext().addSparkListener(progress);
            try {
                Dataset<Row> chunkRows = readChunks(spark, plan, inputs);
                Dataset<Row> rows = chunkRows.mapPartitions(new Fn(this, counters), Encoders.row(rowSchema()))
                        .persist(StorageLevel.MEMORY_AND_DISK());
                try {
                    long tw = System.nanoTime();
                    writeParts(rows, out);
                    long tc = System.nanoTime();
                    summary.rows.putAll(new java.util.TreeMap<>(countKinds(rows)));  // kinds in a stable order
                    // where a run's time goes beyond the model: planning, the parts (the model runs here), the counts
                    LOG.info("{}: planned in {} ms, parts written in {} ms, rows counted in {} ms", name(),
                            (tw - t0) / 1_000_000, (tc - tw) / 1_000_000, (System.nanoTime() - tc) / 1_000_000);
                } finally {
                    rows.unpersist();
                }
            } catch (Exception e) {
                // Spark wraps task failures (SparkException is checked, thrown from Scala undeclared).
                throw rootCause(e);
            } finally {
                spark.sparkContext().removeSparkListener(progress);
            }
            summary.errors = summary.rows.getOrDefault("error", 0L);
            summary.sequences = summary.rows.getOrDefault(sequenceKind(), 0L);
            summary.steps = counters.steps.value();
            summary.computedSteps = counters.computed.value();
            summary.chunks = counters.chunks.value();
            summary.backends.addAll(counters.backendsUsed());
            summary.seconds = (System.nanoTime() - t0) / 1e9;
            summary.settings.put("model", settings.model);
            if (!settings.model.equals(settings.modelDir().toString())) {
                summary.settings.put("model_dir", settings.modelDir().toString());
            }
            summary.settings.put("format", plan.format);
            summary.settings.put("inputs", String.join(",", inputs));
            // what was asked for (flag, else property, else environment, else auto); the tasks' backends are in
            // summary.backends
            summary.settings.put("backend", BackendChoice.resolve(settings.backend, "job setting backend").lower());
            summary.settings.put("precision", settings.precision);
            summary.settings.put("lanes", String.valueOf(settings.lanes));
            summary.settings.put("chunk_length", String.valueOf(settings.chunkLength));
            summary.settings.put("batch_tokens", String.valueOf(settings.batchTokens));
            summary.settings.put("spark_master", spark.sparkContext().master());
            describe(summary.settings);
            Files.writeString(out.staging().resolve("summary.json"), summary.json());
            afterParts(spark, out, summary);
            out.commit();
        }
        return summary;
    }

    /**
     * Rows per kind, exact: one stage over the persisted rows, each partition's counts merged on the driver.
     * groupBy("kind").count() took 1.4-1.5 s of the README's 20 s demo job on the dev machine (0.8 s of a
     * 95 s GPU run, H200 run 43); this takes 0.35 s there. An accumulator would be cheaper still, but
     * counts twice when Spark recomputes a partition.
     */
    static Map<String, Long> countKinds(Dataset<Row> rows) {
        return rows.select("kind").toJavaRDD().aggregate(new HashMap<String, Long>(),
                (m, r) -> {
                    m.merge(r.getString(0), 1L, Long::sum);
                    return m;
                },
                (a, b) -> {
                    b.forEach((k, v) -> a.merge(k, v, Long::sum));
                    return a;
                });
    }

    /** The input as a DataFrame of chunks: a chunk data source, or time series turned into chunks. */
    protected Dataset<Row> readChunks(SparkSession spark, InputPlan plan, List<String> inputs) {
        if (plan.format.equals("csv") || plan.format.equals("parquet")) {
            return TimeSeriesChunks.read(spark, plan.format, inputs, plan.files, settings);
        }
        return spark.read().format(plan.format)
                .option("chunkLength", settings.chunkLength)
                .option("lanes", settings.lanes)
                .option("splitSize", settings.splitBytes)
                .option("onError", settings.onError)
                .option("frameSize", settings.frameSize)
                .option("mixToMono", settings.mixToMono)
                .load(inputs.toArray(new String[0]));
    }

    /** The kind of row that counts as one processed sequence. */
    protected abstract String sequenceKind();

    /** Adds the job's own settings to the summary (summary.json and the report). */
    protected void describe(java.util.Map<String, String> out) {
    }

    /** Hook for extra files (reports) before the output is committed. */
    protected void afterParts(SparkSession spark, OutputDir out, JobSummary summary) throws IOException {
    }

    /**
     * The output directory, checked against what the job reads: its inputs (local paths and file: URIs) and
     * its model, which {@code --overwrite} must never delete. The CLI opens (and closes) one before starting
     * Spark, so that an output it cannot write, or may not replace, fails at once.
     */
    public OutputDir openOutput(List<String> inputs, Path output, boolean overwrite) {
        List<Path> reads = new java.util.ArrayList<>();
        for (String i : inputs) {
            Path local = InputFiles.localPath(i);
            if (local != null) {
                reads.add(local);
            }
        }
        reads.add(settings.modelDir());
        return new OutputDir(output, overwrite, reads);
    }

    /**
     * Spark wraps task failures ("Job aborted due to stage failure: ..."); users want the message of what went
     * wrong: the outermost exception in the chain that is neither Spark's nor a bare wrapper (a message that is
     * just its cause's toString), because that is where this project adds context ("backend cuda was asked for
     * but cannot serve: <reason>"); an I/O cause's reason is appended when the message lacks it.
     */
    static RuntimeException rootCause(Exception e) {
        Throwable pick = null;
        for (Throwable t = e; t != null && pick == null; t = t.getCause() == t ? null : t.getCause()) {
            boolean spark = t.getClass().getName().startsWith("org.apache.spark.") || t.getClass().getName().startsWith("scala.");
            boolean wrapper = t.getMessage() == null || (t.getCause() != null && t.getMessage().equals(t.getCause().toString()));
            if (!spark && !wrapper) {
                pick = t;
            }
        }
        if (pick == null) {
            pick = e;
            while (pick.getCause() != null && pick.getCause() != pick) {
                pick = pick.getCause();
            }
        }
        if (pick == e && e instanceof RuntimeException && !e.getClass().getName().startsWith("org.apache.spark")) {
            return (RuntimeException) e;
        }
        String msg = pick.getMessage() != null ? pick.getMessage() : pick.toString();
        String file = fileRead(e, pick);
        if (file != null && !msg.contains(file)) {
            msg = file + ": " + msg;  // Parquet's own errors (a damaged page) do not name the file
        }
        if (pick.getCause() instanceof java.io.IOException) {
            String why = dev.mamba.pipeline.io.IoMessages.reason((java.io.IOException) pick.getCause());
            if (!msg.contains(why)) {
                msg += ": " + why;
            }
        }
        return new IllegalStateException(msg, e);
    }

    private static final java.util.regex.Pattern READING_FILE =
            java.util.regex.Pattern.compile("while reading file (\\S+?)\\.?(?:\\s|$)");

    /** The file a Spark exception between {@code e} and {@code pick} says it was reading (FAILED_READ_FILE), or null. */
    private static String fileRead(Throwable e, Throwable pick) {
        for (Throwable t = e; t != null && t != pick; t = t.getCause() == t ? null : t.getCause()) {
            java.util.regex.Matcher m = READING_FILE.matcher(String.valueOf(t.getMessage()));
            if (m.find()) {
                String f = m.group(1);
                try {
                    return f.startsWith("file:") ? java.nio.file.Path.of(java.net.URI.create(f)).toString() : f;
                } catch (RuntimeException notAUri) {
                    return f;
                }
            }
        }
        return null;
    }

    /** Builds the token or feature encoder for the model. */
    StepEncoder encoder(ExecutorRuntime.Lease lease) {
        var cfg = lease.model.config();
        if (cfg.family == dev.mamba.pipeline.config.ModelFamily.TOKENS) {
            return new dev.mamba.pipeline.batch.VocabEncoder(ExecutorRuntime.vocab(settings), cfg.vocabSize);
        }
        return new dev.mamba.pipeline.batch.FeatureEncoder(cfg.inputFeatures, false);
    }

    /** The partition function: serialisable, builds everything on the executor. */
    private static final class Fn implements MapPartitionsFunction<Row, Row> {
        private static final long serialVersionUID = 1L;
        private final SequenceJob job;
        private final JobCounters counters;

        Fn(SequenceJob job, JobCounters counters) {
            this.job = job;
            this.counters = counters;
        }

        @Override
        public Iterator<Row> call(Iterator<Row> input) {
            if (!input.hasNext()) {
                return java.util.Collections.emptyIterator();
            }
            return new PartitionDriver(input, job.settings, job::sink, job::encoder, counters);
        }
    }
}
