package dev.mamba.jobs.cli;

import dev.mamba.jobs.models.BuiltinModels;
import dev.mamba.jobs.source.InputFiles;
import dev.mamba.jobs.spark.JobSettings;
import dev.mamba.pipeline.io.IoMessages;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** Flags shared by the Spark jobs (embed, score). Defaults match conf/mamba-job.properties. */
public final class JobOptions {
    @Option(names = "--input", required = true, arity = "1..*", paramLabel = "PATH",
            description = "Input files or directories (FASTA/FASTQ plain or .gz, WAV; score also CSV/Parquet time series).")
    List<String> inputs;

    @Option(names = "--output", required = true, paramLabel = "DIR", description = "Output directory (must not exist).")
    Path output;

    @Option(names = "--overwrite", description = "Replace an existing output directory.")
    boolean overwrite;

    @Option(names = "--format", paramLabel = "FORMAT", description = "fasta, fastq, wav, csv or parquet (default: from the file names).")
    String format;

    @Option(names = "--master", paramLabel = "URL",
            description = "Spark master (default: spark.master from spark-submit, else local[*]).")
    String master;

    @Option(names = "--lanes", defaultValue = "8", description = "Sequences run side by side per task (default: ${DEFAULT-VALUE}).")
    int lanes;

    @Option(names = "--chunk-length", defaultValue = "4096", description = "Steps per chunk read (default: ${DEFAULT-VALUE}).")
    int chunkLength;

    @Option(names = "--batch-tokens", defaultValue = "8192",
            description = "Lanes × steps of one forward call (default: ${DEFAULT-VALUE}; raise it on a GPU, e.g. 131072).")
    int batchTokens;

    @Option(names = "--split-size", defaultValue = "67108864", description = "Bytes per split of a plain FASTA/FASTQ file or a CSV file (default: ${DEFAULT-VALUE}).")
    long splitBytes;

    @Option(names = "--unknown", defaultValue = "fail", paramLabel = "fail|unk",
            description = "Symbols missing from vocab.json: fail the sequence (errors output) or map to <unk> (default: ${DEFAULT-VALUE}).")
    String unknown;

    @Option(names = "--on-error", defaultValue = "fail", paramLabel = "fail|report",
            description = "Malformed input files: fail the job, or report them in the errors output and go on (default: ${DEFAULT-VALUE}).")
    String onError;

    @Option(names = "--frame-size", defaultValue = "400", description = "WAV: samples per step (default: ${DEFAULT-VALUE}).")
    int frameSize;

    @Option(names = "--mix-to-mono", description = "WAV: mix channels to mono.")
    boolean mixToMono;

    /**
     * The settings for executors, from these flags and the backend flags. {@code model} null: the shipped
     * model for the input format ({@link BuiltinModels#defaultFor}); {@code builtin:<name>} stays as it is.
     */
    JobSettings settings(String command, String model, BackendOptions b) {
        JobSettings s = new JobSettings();
        if (model == null) {
            s.model = BuiltinModels.defaultFor(command, format());
            System.err.println("[mamba] no --model: using the shipped model " + s.model + " (" + s.modelDir() + ")");
        } else if (BuiltinModels.isBuiltin(model)) {
            s.model = model;
            s.modelDir(); // checks the name now
        } else {
            s.model = Path.of(model).toAbsolutePath().normalize().toString();
        }
        inputs = inputs.stream().map(i -> i.contains("://") ? i : Path.of(i).toAbsolutePath().normalize().toString())
                .collect(java.util.stream.Collectors.toList());
        s.backend = b.backend;
        s.device = b.deviceExplicit() ? b.device : -1;
        s.precision = b.precision;
        s.cpuThreads = b.threads;
        s.lanes = lanes;
        s.chunkLength = chunkLength;
        s.batchTokens = batchTokens;
        s.splitBytes = splitBytes;
        s.unknown = unknown;
        s.onError = onError;
        s.frameSize = frameSize;
        s.mixToMono = mixToMono;
        s.validate();
        return s;
    }

    /** The format from --format or the first input's name. */
    String format() {
        if (format != null) {
            return format.toLowerCase(Locale.ROOT);
        }
        Path p = Path.of(inputs.get(0));
        if (Files.isDirectory(p)) {
            // The same files the job reads: not _SUCCESS, .crc or .fai next to the data.
            InputFiles.Listing l;
            try {
                l = InputFiles.list(p);
            } catch (java.io.IOException e) {
                throw new UserError("cannot list " + p + ": " + IoMessages.reason(e));
            }
            if (l.inputs().isEmpty()) {
                throw new UserError("no input files in " + p + (l.skipped().isEmpty() ? ""
                        : " (only files that are not input: " + InputFiles.describe(l.skipped(), 10) + ")"));
            }
            p = l.inputs().get(0);
        }
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT).replaceAll("\\.(gz|bgz)$", "");
        if (n.endsWith(".fa") || n.endsWith(".fasta") || n.endsWith(".fna") || n.endsWith(".ffn") || n.endsWith(".faa")) {
            return "fasta";
        }
        if (n.endsWith(".fq") || n.endsWith(".fastq")) {
            return "fastq";
        }
        if (n.endsWith(".wav") || n.endsWith(".wave")) {
            return "wav";
        }
        if (n.endsWith(".csv") || n.endsWith(".tsv")) {
            return "csv";
        }
        if (n.endsWith(".parquet")) {
            return "parquet";
        }
        throw new UserError("cannot tell the format of " + p + " from its name: pass --format fasta|fastq|wav|csv|parquet");
    }

    /** Runs a job in a session for these flags, prints its summary line, stops the session. */
    int run(String app, dev.mamba.jobs.spark.SequenceJob job) throws java.io.IOException {
        job.openOutput(inputs, output, overwrite).close();  // an output it may not write fails before Spark starts
        org.apache.spark.sql.SparkSession spark = dev.mamba.jobs.spark.SparkSessions.forJob(app, master, job);
        try {
            dev.mamba.jobs.spark.JobSummary sum = job.run(spark, format(), inputs, output, overwrite);
            System.err.println(sum.line());
            System.err.println("[mamba] output: " + output.toAbsolutePath());
            return 0;
        } finally {
            spark.stop();
        }
    }
}
