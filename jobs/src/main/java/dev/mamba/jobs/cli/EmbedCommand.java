package dev.mamba.jobs.cli;

import dev.mamba.jobs.spark.EmbedJob;
import dev.mamba.jobs.spark.JobSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code embed}: a Spark job writing one embedding row per input sequence. */
@Command(name = "embed", mixinStandardHelpOptions = true,
        description = "Embeds every sequence of the inputs (mean and last final hidden state, optional per-window "
                + "means) as Parquet under DIR/embeddings, DIR/windows, DIR/errors, with DIR/summary.json and the run "
                + "report DIR/report/index.html (PCA of the embeddings by input file).")
public final class EmbedCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "DIR",
            description = {"Model directory, or builtin:dna|timeseries|audio.",
                    "Default: the shipped model for the input: FASTA/FASTQ -> models/dna, WAV -> models/audio (time series need --model)."})
    String model;

    @Option(names = "--window", defaultValue = "0", paramLabel = "STEPS",
            description = "Also write the mean embedding of every window of this many steps (default: none).")
    long window;

    @Mixin
    JobOptions job = new JobOptions();

    @Mixin
    BackendOptions backend = new BackendOptions();

    @Override
    public Integer call() throws Exception {
        JobSettings s = job.settings("embed", model, backend);
        s.window = window;
        s.validate();
        return job.run("mamba-embed", new EmbedJob(s));
    }
}
