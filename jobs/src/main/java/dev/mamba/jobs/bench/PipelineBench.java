package dev.mamba.jobs.bench;

import dev.mamba.jobs.spark.EmbedJob;
import dev.mamba.jobs.spark.ExecutorRuntime;
import dev.mamba.jobs.spark.JobSettings;
import dev.mamba.jobs.spark.JobSummary;
import dev.mamba.jobs.spark.SparkSessions;
import dev.mamba.pipeline.checkpoint.RandomCheckpoint;
import dev.mamba.pipeline.config.MambaConfig;
import dev.mamba.pipeline.config.ModelFamily;
import org.apache.spark.sql.SparkSession;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Steps per second through the whole embed job in local mode: with the noop backend (the feed rate:
 * reading, chunking, lane scheduling, Arrow batching, Parquet output) and with a real model.
 */
public final class PipelineBench {
    private PipelineBench() {
    }

    /** A synthetic genome: {@code records} FASTA records totalling {@code bases} bases, 60 per line. */
    static void writeFasta(Path file, long bases, int records, long seed) throws IOException {
        Random rnd = new Random(seed);
        byte[] acgt = "ACGT".getBytes(StandardCharsets.US_ASCII);
        try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.US_ASCII)) {
            long per = bases / records;
            char[] line = new char[60];
            for (int r = 0; r < records; r++) {
                w.write(">chr" + r + " synthetic\n");
                long n = r == records - 1 ? bases - per * (records - 1) : per;
                for (long i = 0; i < n; i += 60) {
                    int len = (int) Math.min(60, n - i);
                    for (int j = 0; j < len; j++) {
                        line[j] = (char) acgt[rnd.nextInt(4)];
                    }
                    w.write(line, 0, len);
                    w.write('\n');
                }
            }
        }
    }

    /** Runs the embed job over a synthetic genome once per backend; returns rows of results. */
    public static List<Map<String, Object>> run(Path work, long bases, int records, List<String> backends,
                                                MambaConfig cfg, String master, int lanes, int batchTokens,
                                                String precision, int chunkLength) throws IOException {
        Files.createDirectories(work);
        Path model = work.resolve("model");
        if (!Files.exists(model.resolve("config.json"))) {
            RandomCheckpoint.writeRandom(model, cfg, 3, true, "F32");
            Files.writeString(model.resolve("vocab.json"), "{\"A\": 0, \"C\": 1, \"G\": 2, \"T\": 3, \"N\": 4}");
        }
        Path input = work.resolve("genome-" + bases + ".fa");
        if (!Files.exists(input)) {
            writeFasta(input, bases, records, 11);
        }
        List<Map<String, Object>> rows = new java.util.ArrayList<>();
        for (String b : backends) {
            JobSettings s = new JobSettings();
            s.model = model.toString();
            s.backend = b;
            s.lanes = lanes;
            s.batchTokens = batchTokens;
            s.precision = precision;
            s.chunkLength = chunkLength;
            // 8 splits (rounded up: a ninth, tiny split would run alone at the end of local[4]'s two waves)
            s.splitBytes = Math.max(1 << 20, (Files.size(input) + 7) / 8);
            EmbedJob job = new EmbedJob(s);
            SparkSession spark = SparkSessions.forJob("mamba-bench", master, job);
            try {
                Path out = work.resolve("out-" + b);
                JobSummary sum = job.run(spark, "fasta", List.of(input.toString()), out, true);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("backend", b);
                row.put("master", master);
                row.put("model", "hidden " + cfg.hiddenSize + ", layers " + cfg.numLayers);
                row.put("precision", precision);
                row.put("lanes", lanes);
                row.put("batch_tokens", batchTokens);
                row.put("steps", sum.steps);
                row.put("seconds", sum.seconds);
                row.put("steps_per_s", sum.stepsPerSecond());
                row.put("lane_utilization", sum.laneUtilization());
                rows.add(row);
            } finally {
                spark.stop();
                ExecutorRuntime.closeAll();
            }
        }
        return rows;
    }

    public static MambaConfig tinyDna() {
        return new MambaConfig(ModelFamily.TOKENS, 64, 2, 8, 16, 4, 128, 4, true, false, 1e-5f, true, true, 0, 0);
    }
}
