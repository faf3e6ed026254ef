package dev.mamba.jobs.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mamba.jobs.bench.ForwardBench;
import dev.mamba.jobs.bench.PipelineBench;
import dev.mamba.kernels.Backend;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code bench}: benchmark programs (not tests) whose figures the README records. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks.",
        subcommands = {BenchCommand.Forward.class, BenchCommand.Pipeline.class})
public final class BenchCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    static void append(Path out, Object result) throws java.io.IOException {
        if (out != null) {
            Files.createDirectories(out.toAbsolutePath().getParent());
            Files.writeString(out, new ObjectMapper().writeValueAsString(result) + "\n", StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        }
    }

    /** Backbone forward throughput and its GEMM rates (130m shape by default). */
    @Command(name = "forward", mixinStandardHelpOptions = true,
            description = "Tokens/s of the backbone forward at lanes × steps (random 130m-shaped weights) and GFLOP/s of its four GEMMs alone.")
    static final class Forward implements Callable<Integer> {
        @Option(names = "--lanes", defaultValue = "8")
        int lanes;
        @Option(names = "--steps", defaultValue = "2048")
        int steps;
        @Option(names = "--layers", defaultValue = "24")
        int layers;
        @Option(names = "--repeat", defaultValue = "2")
        int repeat;
        @Option(names = "--out", description = "Append the result as a JSON line to this file.")
        Path out;
        @Mixin
        BackendOptions backend = new BackendOptions();

        @Override
        public Integer call() throws Exception {
            try (Backend be = backend.open()) {
                Map<String, Object> r = ForwardBench.run(be, ForwardBench.shape130m(layers), lanes, steps, repeat);
                System.out.print(ForwardBench.table(r));
                append(out, r);
            }
            return 0;
        }
    }

    /** Steps/s through the embed job: noop backend (feed rate) and real backends. */
    @Command(name = "pipeline", mixinStandardHelpOptions = true,
            description = "Steps/s through the whole embed job in local mode over a synthetic genome, per backend (noop = feed rate).")
    static final class Pipeline implements Callable<Integer> {
        @Option(names = "--bases", defaultValue = "20000000")
        long bases;
        @Option(names = "--records", defaultValue = "64")
        int records;
        @Option(names = "--backends", split = ",", defaultValue = "noop,cpu")
        List<String> backends;
        @Option(names = "--master", defaultValue = "local[*]")
        String master;
        @Option(names = "--lanes", defaultValue = "8")
        int lanes;
        @Option(names = "--batch-tokens", defaultValue = "8192")
        int batchTokens;
        @Option(names = "--work", defaultValue = "${sys:java.io.tmpdir}/mamba-bench")
        Path work;
        @Option(names = "--out")
        Path out;
        @Option(names = "--shape", defaultValue = "tiny", description = "Model shape: tiny (hidden 64, 2 layers) or 130m.")
        String shape;
        @Option(names = "--precision", defaultValue = "fp32")
        String precision;
        @Option(names = "--chunk-length", defaultValue = "4096")
        int chunkLength;

        @Override
        public Integer call() throws Exception {
            var cfg = shape.equals("130m") ? ForwardBench.shape130m(24) : PipelineBench.tinyDna();
            for (Map<String, Object> r : PipelineBench.run(work.resolve(shape), bases, records, backends, cfg, master,
                    lanes, batchTokens, precision, chunkLength)) {
                System.out.println(r);
                append(out, r);
            }
            return 0;
        }
    }
}
