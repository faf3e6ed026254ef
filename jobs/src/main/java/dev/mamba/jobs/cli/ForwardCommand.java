package dev.mamba.jobs.cli;

import dev.mamba.kernels.Backend;
import dev.mamba.pipeline.checkpoint.SafeTensorsWriter;
import dev.mamba.pipeline.config.MambaConfig;
import dev.mamba.pipeline.config.ModelFamily;
import dev.mamba.pipeline.io.IoMessages;
import dev.mamba.pipeline.model.ForwardBatch;
import dev.mamba.pipeline.model.ForwardResult;
import dev.mamba.pipeline.model.MambaModel;
import dev.mamba.pipeline.model.Output;
import dev.mamba.pipeline.model.Runner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code forward}: runs token sequences through a checkpoint and writes the final hidden states (and
 * logits) as safetensors, for validating checkpoints and for conformance checks.
 */
@Command(name = "forward", mixinStandardHelpOptions = true,
        description = "Runs each line of a token file (ids separated by spaces) through the model and writes "
                + "last_hidden_state.<i> [L_i, hidden] and, with an LM head, logits.<i> [L_i, vocab] as float32 "
                + "safetensors.")
public final class ForwardCommand implements Callable<Integer> {
    /** Without --chunk a line runs in pieces of at most this many steps, state carried (same result). */
    static final int DEFAULT_PIECE = 4096;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "Checkpoint directory (config.json + safetensors).")
    Path model;

    @Option(names = "--tokens", required = true, paramLabel = "FILE", description = "One sequence per line, token ids separated by spaces.")
    Path tokens;

    @Option(names = "--output", required = true, paramLabel = "OUT.safetensors", description = "Output file.")
    Path output;

    @Option(names = "--chunk", paramLabel = "N", description = "Run each sequence in chunks of N steps with the state carried.")
    Integer chunk;

    @Mixin
    BackendOptions backend = new BackendOptions();

    @Override
    public Integer call() throws IOException {
        if (chunk != null && chunk <= 0) {
            throw new UserError("--chunk must be > 0, is " + chunk);
        }
        checkOutput(output);  // before the model runs, not after all of it has been computed
        List<int[]> lines = readTokens(tokens);
        long t0 = System.nanoTime();
        try (Backend be = backend.open()) {
            MambaModel m;
            try {
                m = MambaModel.load(model, be);
            } catch (NoSuchFileException e) {
                throw new UserError("cannot read model " + model + ": " + e.getMessage() + " not found", e);
            }
            try (MambaModel mm = m) {
                MambaConfig cfg = mm.config();
                if (cfg.family != ModelFamily.TOKENS) {
                    throw new UserError(model + ": forward takes token models; this is a " + cfg.family + " model");
                }
                for (int i = 0; i < lines.size(); i++) {
                    for (int id : lines.get(i)) {
                        if (id >= cfg.vocabSize) {
                            throw new UserError(tokens + ":" + (i + 1) + ": token id " + id + " >= vocab size "
                                    + cfg.vocabSize);
                        }
                    }
                }
                run(mm, lines, be);
            }
        }
        System.err.printf("forward: %d sequences, %d tokens in %.2f s -> %s%n", lines.size(),
                lines.stream().mapToLong(a -> a.length).sum(), (System.nanoTime() - t0) / 1e9, output);
        return 0;
    }

    private void run(MambaModel m, List<int[]> lines, Backend be) throws IOException {
        MambaConfig cfg = m.config();
        boolean head = m.hasLmHead();
        int piece = chunk != null ? chunk : DEFAULT_PIECE;
        int maxLen = lines.stream().mapToInt(a -> a.length).max().orElse(1);
        int steps = Math.min(piece, maxLen);
        List<SafeTensorsWriter.Spec> specs = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            specs.add(new SafeTensorsWriter.Spec("last_hidden_state." + i, new long[]{lines.get(i).length, cfg.hiddenSize}));
            if (head) {
                specs.add(new SafeTensorsWriter.Spec("logits." + i, new long[]{lines.get(i).length, cfg.vocabSize}));
            }
        }
        EnumSet<Output> want = head ? EnumSet.of(Output.HIDDEN, Output.LOGITS) : EnumSet.of(Output.HIDDEN);
        try (Runner run = m.newRunner(1, steps);
             SafeTensorsWriter out = new SafeTensorsWriter(output, specs,
                     Map.of("generator", "mamba-pipeline forward", "backend", be.describe(),
                             "chunk", chunk == null ? "none" : String.valueOf(chunk)))) {
            for (int i = 0; i < lines.size(); i++) {
                int[] seq = lines.get(i);
                float[] hidden = new float[seq.length * cfg.hiddenSize];
                float[] logits = head ? new float[Math.multiplyExact(seq.length, cfg.vocabSize)] : null;
                run.reset(0);
                for (int s = 0; s < seq.length; s += piece) {
                    int n = Math.min(piece, seq.length - s);
                    ForwardBatch b = new ForwardBatch(1, n);
                    b.lens[0] = n;
                    b.tokens = java.util.Arrays.copyOfRange(seq, s, s + n);
                    ForwardResult r = run.forward(b, want);
                    System.arraycopy(r.hidden, 0, hidden, s * cfg.hiddenSize, n * cfg.hiddenSize);
                    if (head) {
                        System.arraycopy(r.logits, 0, logits, s * cfg.vocabSize, n * cfg.vocabSize);
                    }
                }
                out.write("last_hidden_state." + i, hidden);
                if (head) {
                    out.write("logits." + i, logits);
                }
            }
        }
    }

    /** The output can be written: not a directory, and its directory exists and is writable. */
    static void checkOutput(Path out) {
        if (Files.isDirectory(out)) {
            throw new UserError("--output " + out + " is a directory; expected a file name such as "
                    + out.resolve("out.safetensors"));
        }
        Path dir = out.toAbsolutePath().getParent();
        if (!Files.isDirectory(dir)) {
            throw new UserError("--output " + out + ": directory " + dir
                    + (Files.exists(dir) ? " is not a directory" : " does not exist"));
        }
        if (!Files.isWritable(dir)) {
            throw new UserError("--output " + out + ": directory " + dir + " is not writable");
        }
    }

    /** Reads the token file; errors name the line. */
    static List<int[]> readTokens(Path file) throws IOException {
        if (Files.isDirectory(file)) {
            throw new UserError("token file " + file + " is a directory (expected a file of token ids, one sequence a line)");
        }
        List<int[]> lines = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int no = 0;
            while ((line = r.readLine()) != null) {
                no++;
                String s = line.strip();
                if (s.isEmpty()) {
                    throw new UserError(file + ":" + no + ": empty line (every line must hold at least one token id)");
                }
                String[] parts = s.split("\\s+");
                int[] ids = new int[parts.length];
                for (int k = 0; k < parts.length; k++) {
                    try {
                        ids[k] = Integer.parseInt(parts[k]);
                    } catch (NumberFormatException e) {
                        throw new UserError(file + ":" + no + ": token " + (k + 1) + " '" + parts[k]
                                + "' is not an integer id");
                    }
                    if (ids[k] < 0) {
                        throw new UserError(file + ":" + no + ": token id " + ids[k] + " is negative");
                    }
                }
                lines.add(ids);
            }
        } catch (NoSuchFileException e) {
            throw new UserError("token file " + file + " not found", e);
        } catch (java.nio.charset.MalformedInputException e) {
            throw new UserError(file + ": not UTF-8 text", e);
        } catch (IOException e) {
            throw new UserError("cannot read token file " + file + ": " + IoMessages.reason(e), e);
        }
        if (lines.isEmpty()) {
            throw new UserError(file + ": no sequences (the file is empty)");
        }
        return lines;
    }
}
