package dev.mamba.jobs.cli;

import dev.mamba.kernels.Backend;
import dev.mamba.kernels.BackendChoice;
import dev.mamba.kernels.Backends;
import dev.mamba.kernels.Precision;
import picocli.CommandLine.Option;

/** Backend selection flags shared by the commands. */
public final class BackendOptions {
    @Option(names = "--backend", paramLabel = "auto|cpu|cuda",
            description = "Compute backend (default: property mamba.backend, else env MAMBA_BACKEND, else auto).")
    public String backend;

    @Option(names = "--device", paramLabel = "N", defaultValue = "-1",
            description = "CUDA device index (default: 0 in-process; in jobs, the GPU Spark assigns, else tasks spread over all).")
    public int device;

    @Option(names = "--precision", paramLabel = "fp32|tf32|bf16", defaultValue = "fp32",
            description = "CUDA arithmetic: fp32 (exact), tf32 or bf16 (default: ${DEFAULT-VALUE}); the CPU computes in fp32.")
    public String precision;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
            description = "CPU backend worker threads (default: one per core).")
    public int threads;

    /** The resolved choice (flag, property, environment, auto). */
    public BackendChoice choice() {
        return BackendChoice.resolve(backend, "--backend");
    }

    public Backend open() {
        dev.mamba.jobs.spark.JobSettings.checkBackendFlags(threads, device);
        return Backends.open(choice(), Math.max(0, device), Precision.parse(precision), threads);
    }

    /** Whether --device was given. */
    public boolean deviceExplicit() {
        return device >= 0;
    }
}
