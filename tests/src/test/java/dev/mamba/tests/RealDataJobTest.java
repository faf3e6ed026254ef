package dev.mamba.tests;

import dev.mamba.jobs.spark.ExecutorRuntime;
import dev.mamba.kernels.cpu.CpuBackend;
import dev.mamba.pipeline.io.Chunk;
import dev.mamba.pipeline.io.fasta.FastaReader;
import dev.mamba.pipeline.io.vocab.Vocab;
import dev.mamba.pipeline.model.ForwardBatch;
import dev.mamba.pipeline.model.ForwardResult;
import dev.mamba.pipeline.model.MambaModel;
import dev.mamba.pipeline.model.Output;
import dev.mamba.pipeline.model.Runner;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real data through the jobs with the shipped models: the lambda phage genome and reads from Debian's
 * bowtie2-examples, speech rendered by espeak-ng, and the labelled sample series with injected
 * anomalies. Installed by .ci/run; skipped (reported) where absent.
 */
class RealDataJobTest {
    static final Path BOWTIE = Path.of("/usr/share/doc/bowtie2/examples");
    static final Path MODELS = Path.of("..", "models").toAbsolutePath().normalize();
    static final Path SAMPLES = Path.of("..", "samples").toAbsolutePath().normalize();

    @TempDir
    static Path tmp;

    @AfterAll
    static void leaks() {
        assertEquals(List.of(), ExecutorRuntime.closeAll());
    }

    @Test
    void lambdaPhageEmbeddingEqualsOnePass() throws Exception {
        Path fa = BOWTIE.resolve("reference/lambda_virus.fa.gz");
        Assumptions.assumeTrue(Files.exists(fa), "requires Debian's bowtie2-examples");
        Path out = tmp.resolve("lambda");
        CliRunner r = CliRunner.run("embed", "--model", MODELS.resolve("dna").toString(), "--input", fa.toString(),
                "--output", out.toString(), "--master", "local[2]", "--backend", "cpu");
        assertEquals(0, r.exit, r.err);
        List<Row> rows = JobOutputs.rows(out, "embeddings");
        assertEquals(1, rows.size());
        assertEquals(48502L, rows.get(0).getLong(2));
        // the same genome in one in-process pass
        StringBuilder seq = new StringBuilder();
        try (FastaReader rd = new FastaReader(fa, 1 << 20)) {
            for (Chunk c; (c = rd.next()) != null; ) {
                seq.append(new String(c.symbols(), java.nio.charset.StandardCharsets.US_ASCII));
            }
        }
        Vocab v = Vocab.load(MODELS.resolve("dna/vocab.json"));
        int[] ids = new int[seq.length()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = v.id((byte) seq.charAt(i));
        }
        try (CpuBackend be = new CpuBackend(0); MambaModel m = MambaModel.load(MODELS.resolve("dna"), be);
             Runner run = m.newRunner(1, ids.length)) {
            ForwardBatch b = new ForwardBatch(1, ids.length);
            b.lens[0] = ids.length;
            b.tokens = ids;
            run.reset(0);
            ForwardResult res = run.forward(b, EnumSet.of(Output.SUMMARY));
            int h = m.config().hiddenSize;
            float[] mean = new float[h];
            for (int j = 0; j < h; j++) {
                mean[j] = res.summary[j] / ids.length;
            }
            double e = JobOutputs.relErr(rows.get(0).getList(3), mean);
            assertTrue(e <= 1e-5, "job vs one pass over the lambda genome: " + e);
        }
    }

    @Test
    void bowtieReadsAreAllEmbedded() throws Exception {
        Path gz = BOWTIE.resolve("reads/reads_1.fq.gz");
        Assumptions.assumeTrue(Files.exists(gz), "requires Debian's bowtie2-examples");
        // The first 2,000 of its 10,000 reads, as plain FASTQ (so the source also splits the file):
        // enough real reads to exercise the reader and the lanes without minutes of CPU in CI.
        Path fq = tmp.resolve("reads_1_head.fq");
        try (var in = new java.io.BufferedReader(new java.io.InputStreamReader(
                new java.util.zip.GZIPInputStream(Files.newInputStream(gz)), java.nio.charset.StandardCharsets.US_ASCII));
             var out = Files.newBufferedWriter(fq)) {
            for (int i = 0; i < 8000; i++) {
                out.write(in.readLine());
                out.write('\n');
            }
        }
        Path out = tmp.resolve("reads");
        CliRunner r = CliRunner.run("embed", "--model", MODELS.resolve("dna").toString(), "--input", fq.toString(),
                "--output", out.toString(), "--master", "local[2]", "--backend", "cpu", "--lanes", "32",
                "--batch-tokens", "8192", "--split-size", "200000");
        assertEquals(0, r.exit, r.err);
        assertEquals(2_000, JobOutputs.rows(out, "embeddings").size());
        assertTrue(JobOutputs.rows(out, "errors").isEmpty());
    }

    @Test
    void speechRenderedByEspeakIsEmbedded() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/espeak-ng")), "requires espeak-ng");
        Path in = Files.createDirectories(tmp.resolve("speech"));
        for (String[] u : new String[][]{{"hello", "Hello from the pipeline."}, {"weather", "The weather is fine today."}}) {
            Process p = new ProcessBuilder("/usr/bin/espeak-ng", "-w", in.resolve(u[0] + ".wav").toString(), u[1])
                    .redirectErrorStream(true).start();
            assertEquals(0, p.waitFor());
        }
        Path out = tmp.resolve("speech-out");
        CliRunner r = CliRunner.run("embed", "--model", MODELS.resolve("audio").toString(), "--input", in.toString(),
                "--output", out.toString(), "--master", "local[2]", "--backend", "cpu");
        assertEquals(0, r.exit, r.err);
        Map<String, Row> rows = new HashMap<>();
        for (Row row : JobOutputs.rows(out, "embeddings")) {
            rows.put(row.getString(0), row);
        }
        assertEquals(2, rows.size());
        assertTrue(rows.get("hello").getLong(2) > 20, "a second of speech is > 20 frames of 400 samples");
    }

    @Test
    void injectedAnomaliesInTheSampleSeriesAreFlagged() throws Exception {
        Path csv = SAMPLES.resolve("timeseries/anomalies_demo.csv");
        Path out = tmp.resolve("ts");
        CliRunner r = CliRunner.run("score", "--model", MODELS.resolve("timeseries").toString(), "--input",
                csv.toString(), "--output", out.toString(), "--id-column", "series_id", "--time-column", "time",
                "--value-columns", "value", "--master", "local[2]", "--backend", "cpu");
        assertEquals(0, r.exit, r.err);
        var events = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(SAMPLES.resolve("timeseries/anomalies_demo.events.json").toFile());
        Map<String, List<Long>> flags = new HashMap<>();
        for (Row row : JobOutputs.rows(out, "steps")) {
            if (!row.isNullAt(7) && row.getBoolean(7)) {
                flags.computeIfAbsent(row.getString(0), k -> new java.util.ArrayList<>()).add(row.getLong(1));
            }
        }
        int detected = 0, inside = 0, total = 0;
        for (var e : events) {
            String sid = e.get("series_id").asText();
            long a = e.get("start").asLong() - 5, b = e.get("end").asLong() + 100;
            if (flags.getOrDefault(sid, List.of()).stream().anyMatch(s -> s >= a && s <= b)) {
                detected++;
            }
        }
        for (var f : flags.entrySet()) {
            for (long s : f.getValue()) {
                total++;
                for (var e : events) {
                    if (e.get("series_id").asText().equals(f.getKey()) && s >= e.get("start").asLong() - 5
                            && s <= e.get("end").asLong() + 100) {
                        inside++;
                        break;
                    }
                }
            }
        }
        // Measured with the shipped model at the default threshold: 6 of 10 events, 29 of 31 flags inside.
        assertTrue(detected >= 5, "events detected: " + detected + " of " + events.size());
        assertTrue(inside >= 0.8 * total, "flags inside event windows: " + inside + " of " + total);
    }
}
