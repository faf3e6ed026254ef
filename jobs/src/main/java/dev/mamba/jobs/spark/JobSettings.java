package dev.mamba.jobs.spark;

import dev.mamba.jobs.models.BuiltinModels;
import dev.mamba.kernels.BackendChoice;
import dev.mamba.kernels.Precision;

import java.io.Serializable;
import java.nio.file.Path;

/**
 * Settings a job ships to its executors. Defaults are documented in conf/mamba-job.properties and the
 * README; the CLI flags set them.
 */
public final class JobSettings implements Serializable {
    private static final long serialVersionUID = 1L;

    /**
     * Model directory (config.json, safetensors, vocab.json for token models), readable on executors; or
     * {@code builtin:<name>}, a shipped model each JVM finds itself ({@link BuiltinModels#resolve}).
     */
    public String model;
    /** auto|cpu|cuda, or null to consult the property / environment. */
    public String backend;
    /** CUDA device; −1: from Spark's resource scheduling, else spread tasks over visible devices. */
    public int device = -1;
    /** fp32|tf32|bf16 (CUDA). */
    public String precision = "fp32";
    /** CPU backend worker threads per executor JVM (0: one per core). */
    public int cpuThreads = 0;
    /** Sequences run side by side per task (state slots of a runner). */
    public int lanes = 8;
    /** Steps per chunk read from the input. */
    public int chunkLength = 4096;
    /** Steps × lanes of one forward call: steps per call = min(chunkLength, batchTokens / lanes). */
    public int batchTokens = 8192;
    /** Token models: symbols missing from vocab.json: fail (error output) or unk (map to "<unk>"). */
    public String unknown = "fail";
    /** Symbols are matched case-insensitively (soft-masked DNA). */
    public boolean caseInsensitive = true;
    /** Embed: window size in steps for per-window mean embeddings (0: none). */
    public long window = 0;
    /** Malformed input files: fail the job, or report them in the errors output and go on. */
    public String onError = "fail";
    /** WAV: samples per frame (one step). */
    public int frameSize = 400;
    /** WAV: mix channels to mono. */
    public boolean mixToMono = false;
    /** Score: half-life (steps) of the causal input normalisation of continuous models. */
    public double normHalfLife = 512;
    /** Score: half-life (steps) of the running error RMS the anomaly score divides by. */
    public double errorHalfLife = 1024;
    /** Score: a step is flagged when its score exceeds this. */
    public double threshold = 4;
    /** Score: steps scored before anything can be flagged. */
    public long warmup = 64;
    /** Score: write one row per position (token models) / step (continuous models). */
    public boolean perStep = true;
    /** Time series: series id, time and value columns (values: all other columns when empty). */
    public String idColumn;
    public String timeColumn = "time";
    public java.util.List<String> valueColumns = new java.util.ArrayList<>();
    /** Input split size in bytes for plain FASTA/FASTQ. */
    public long splitBytes = 64L << 20;

    /** The model directory on this JVM: {@link #model}, or where this JVM finds the shipped model it names. */
    public Path modelDir() {
        return BuiltinModels.resolve(model);
    }

    /** Steps per forward call ({@link #validate} ensures batch tokens ≥ lanes). */
    public int stepsPerCall() {
        return Math.max(1, Math.min(chunkLength, batchTokens / Math.max(1, lanes)));
    }

    /** Checks ranges; messages name the flag. */
    public void validate() {
        check(lanes > 0, "--lanes must be > 0, is " + lanes);
        check(chunkLength > 0, "--chunk-length must be > 0, is " + chunkLength);
        check(batchTokens >= lanes, "--batch-tokens must be at least --lanes (a forward call runs lanes x steps "
                + "tokens): is " + batchTokens + " with " + lanes + " lanes");
        checkBackendFlags(cpuThreads, device);
        BackendChoice.resolve(backend, "--backend");  // names the flag, property or variable it came from
        Precision.parse(precision);
        check(unknown.equals("fail") || unknown.equals("unk"), "--unknown must be fail or unk, is " + unknown);
        check(onError.equals("fail") || onError.equals("report"), "--on-error must be fail or report, is " + onError);
        check(window >= 0, "--window must be >= 0, is " + window);
        check(frameSize > 0, "--frame-size must be > 0, is " + frameSize);
    }

    /** --threads and --device ranges (the jobs' and the in-process commands'). */
    public static void checkBackendFlags(int threads, int device) {
        check(threads >= 0, "--threads must be >= 0 (0: one per core), is " + threads);
        check(device >= -1, "--device must be a CUDA device index >= 0, is " + device);
    }

    private static void check(boolean ok, String msg) {
        if (!ok) {
            throw new IllegalArgumentException(msg);
        }
    }
}
