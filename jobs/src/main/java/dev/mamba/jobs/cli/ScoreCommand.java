package dev.mamba.jobs.cli;

import dev.mamba.jobs.spark.JobSettings;
import dev.mamba.jobs.spark.ScoreJob;
import dev.mamba.pipeline.config.ConfigLoader;
import dev.mamba.pipeline.config.MambaConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code score}: per-step anomaly scores (continuous models) or per-position NLL (token models). */
@Command(name = "score", mixinStandardHelpOptions = true,
        description = {"Scores every step of the inputs with the model.",
                "Time series (CSV/Parquet: id, time, value columns) and WAV with a continuous forecaster: the one-step-ahead "
                        + "prediction, its error and an anomaly score normalised causally per series "
                        + "(DIR/steps, DIR/series). FASTA/FASTQ with a token model: per-position negative log-likelihood "
                        + "and its mean per sequence (DIR/positions, DIR/sequences). Errors in DIR/errors; the run report "
                        + "(top series or sequences plotted) in DIR/report/index.html."})
public final class ScoreCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "DIR",
            description = {"Model directory, or builtin:dna|timeseries|audio.",
                    "Default: the shipped model for the input: FASTA/FASTQ -> models/dna, CSV/Parquet -> models/timeseries; WAV has none (models/audio is for embeddings, its scores are not meaningful): pass --model."})
    String model;

    @Option(names = "--id-column", paramLabel = "NAME", description = "Time series: the series-id column (default: one series per input).")
    String idColumn;

    @Option(names = "--time-column", defaultValue = "time", paramLabel = "NAME",
            description = "Time series: the time column, numbers or ISO-8601 (default: ${DEFAULT-VALUE}).")
    String timeColumn;

    @Option(names = "--value-columns", split = ",", paramLabel = "A,B",
            description = "Time series: value columns (default: all columns but id and time).")
    List<String> valueColumns;

    @Option(names = "--threshold", defaultValue = "4", description = "Flag steps whose score exceeds this (default: ${DEFAULT-VALUE}).")
    double threshold;

    @Option(names = "--warmup", defaultValue = "64", description = "Steps scored before anything is flagged (default: ${DEFAULT-VALUE}).")
    long warmup;

    @Option(names = "--norm-half-life", paramLabel = "STEPS",
            description = "Half-life of the causal input normalisation (default: the model's normalization_half_life, else 512).")
    Double normHalfLife;

    @Option(names = "--error-half-life", defaultValue = "1024", paramLabel = "STEPS",
            description = "Half-life of the running error the score divides by (default: ${DEFAULT-VALUE}).")
    double errorHalfLife;

    @Option(names = "--no-per-step", description = "Write only the per-sequence summary, not one row per step.")
    boolean noPerStep;

    @Mixin
    JobOptions job = new JobOptions();

    @Mixin
    BackendOptions backend = new BackendOptions();

    @Override
    public Integer call() throws Exception {
        JobSettings s = job.settings("score", model, backend);
        Path cfgFile = s.modelDir().resolve("config.json");
        if (!Files.exists(cfgFile)) {
            throw new UserError("model " + s.model + ": no config.json");
        }
        MambaConfig cfg = ConfigLoader.load(cfgFile);
        s.idColumn = idColumn;
        s.timeColumn = timeColumn;
        if (valueColumns != null) {
            s.valueColumns = new java.util.ArrayList<>(valueColumns);
        }
        s.threshold = threshold;
        s.warmup = warmup;
        s.errorHalfLife = errorHalfLife;
        s.normHalfLife = normHalfLife != null ? normHalfLife : modelHalfLife(cfgFile);
        s.perStep = !noPerStep;
        s.validate();
        return job.run("mamba-score", new ScoreJob(s, cfg.family));
    }

    /** The normalisation the model was trained with ({@code normalization_half_life} in config.json), else 512. */
    static double modelHalfLife(Path cfgFile) throws java.io.IOException {
        var n = new com.fasterxml.jackson.databind.ObjectMapper().readTree(cfgFile.toFile()).get("normalization_half_life");
        return n != null && n.isNumber() && n.asDouble() > 0 ? n.asDouble() : 512;
    }
}
