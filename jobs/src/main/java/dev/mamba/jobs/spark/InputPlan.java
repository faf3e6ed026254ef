package dev.mamba.jobs.spark;

import dev.mamba.jobs.source.ChunkScan;
import dev.mamba.jobs.source.InputFiles;
import dev.mamba.pipeline.config.ConfigLoader;
import dev.mamba.pipeline.config.MambaConfig;
import dev.mamba.pipeline.config.ModelFamily;
import dev.mamba.pipeline.io.IoMessages;
import dev.mamba.pipeline.io.fasta.FaiIndex;
import dev.mamba.pipeline.io.fasta.Fastx;
import dev.mamba.pipeline.io.wav.WavOptions;
import dev.mamba.pipeline.io.wav.WavReader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Driver-side checks before a job starts: the model exists and fits the input format, the inputs
 * exist; and an estimate of the total steps for the progress line.
 */
final class InputPlan {
    private static final Logger LOG = LoggerFactory.getLogger(InputPlan.class);

    final String format;
    final MambaConfig config;
    final List<Path> files;
    final long totalSteps;
    final boolean estimated;

    private InputPlan(String format, MambaConfig config, List<Path> files, long totalSteps, boolean estimated) {
        this.format = format;
        this.config = config;
        this.files = files;
        this.totalSteps = totalSteps;
        this.estimated = estimated;
    }

    static InputPlan of(JobSettings s, String format, List<String> inputs) {
        String fmt = format.toLowerCase(Locale.ROOT);
        if (!List.of("fasta", "fastq", "wav", "csv", "parquet").contains(fmt)) {
            throw new IllegalArgumentException("unknown input format '" + format
                    + "': expected fasta, fastq, wav, csv or parquet");
        }
        Path dir = s.modelDir();
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("model directory " + s.model + " does not exist");
        }
        MambaConfig cfg;
        try {
            cfg = ConfigLoader.load(dir.resolve("config.json"));
        } catch (IOException e) {
            throw new IllegalArgumentException("model " + s.model + ": " + e.getMessage(), e);
        }
        boolean text = fmt.equals("fasta") || fmt.equals("fastq");
        boolean series = fmt.equals("csv") || fmt.equals("parquet");
        if (text && cfg.family != ModelFamily.TOKENS) {
            throw new IllegalArgumentException("model " + s.model + " is a continuous-input model; " + fmt
                    + " input needs a token model with a vocab.json");
        }
        if (!text && cfg.family != ModelFamily.CONTINUOUS) {
            throw new IllegalArgumentException("model " + s.model + " is a token model; " + fmt + " input needs a "
                    + "continuous-input model (model_type mamba_continuous)");
        }
        if (series) {
            // Totals are not known before the job reads the tables; the progress line shows rates only.
            return new InputPlan(fmt, cfg, files(inputs), 0, true);
        }
        if (text) {
            // Loads and checks vocab.json against the embedding now, not in every task.
            new dev.mamba.pipeline.batch.VocabEncoder(ExecutorRuntime.vocab(s), cfg.vocabSize);
        }
        List<Path> files = files(inputs);
        long total = 0;
        boolean est = false;
        try {
            for (Path f : files) {
                if (text) {
                    var fai = Fastx.isGzip(f) ? java.util.Optional.<FaiIndex>empty() : fai(f);
                    if (fai.isPresent()) {
                        total += fai.get().totalLength();
                    } else {
                        // bytes ≈ symbols for plain files (headers and newlines are few); gzip ~ 3.5×
                        total += Fastx.isGzip(f) ? Files.size(f) * 7 / 2 : Files.size(f);
                        est = true;
                    }
                    if (fmt.equals("fastq")) {
                        est = true;
                        total = total / 2; // half of a FASTQ file is quality lines
                    }
                } else {
                    try (WavReader r = new WavReader(f, WavOptions.defaults().frameSize(s.frameSize).mixToMono(s.mixToMono))) {
                        if (r.features() != cfg.inputFeatures) {
                            throw new IllegalArgumentException(f + ": " + r.header().channels() + " channel(s) × frame size "
                                    + s.frameSize + (s.mixToMono ? " mixed to mono" : "") + " = " + r.features()
                                    + " features per step, but model " + s.model + " takes " + cfg.inputFeatures
                                    + " (set --frame-size / --mix-to-mono to match)");
                        }
                        total += r.steps();
                    } catch (IOException e) {
                        if (!s.onError.equals("report")) {
                            throw new IllegalArgumentException(e.getMessage(), e);
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        return new InputPlan(fmt, cfg, files, total, est);
    }

    /**
     * The index next to a FASTA file, if there is one and it parses. It only sizes the progress line, so a bad
     * one must not fail a job that reads the FASTA itself fine: a warning, and the file size stands in.
     */
    private static java.util.Optional<FaiIndex> fai(Path fasta) {
        try {
            return FaiIndex.forFasta(fasta);
        } catch (IOException e) {
            // the index's parse errors name it and the line already; others may not name it
            String fai = fasta + ".fai";
            String why = IoMessages.reason(e);
            LOG.warn("{}; index not used for the progress estimate, which falls back to the file size",
                    why.contains(fai) ? why : fai + ": " + why);
            return java.util.Optional.empty();
        }
    }

    static List<Path> files(List<String> inputs) {
        InputFiles.Listing l = ChunkScan.expand(inputs);
        if (!l.skipped().isEmpty()) {
            LOG.info("input directories: skipped {} file(s) that are not input (hidden, Spark bookkeeping, indexes): {}",
                    l.skipped().size(), InputFiles.describe(l.skipped(), 20));
        }
        return l.inputs();
    }
}
