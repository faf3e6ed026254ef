package dev.mamba.tests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mamba.jobs.cli.Main;
import dev.mamba.kernels.BackendChoice;
import dev.mamba.kernels.Backends;
import dev.mamba.jobs.spark.ExecutorRuntime;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The embed job (local mode) equals the in-process forward over each whole sequence. */
class EmbedJobTest {
    @TempDir
    static Path tmp;
    static Path model;
    static Path inputs;
    static Map<String, String> records = new LinkedHashMap<>();
    static Map<String, float[][]> expected;

    @BeforeAll
    static void setUp() throws Exception {
        model = JobFixtures.dnaModel(Files.createDirectories(tmp.resolve("model")));
        inputs = Files.createDirectories(tmp.resolve("in"));
        records.putAll(JobFixtures.writeFastaInputs(inputs, new Random(3), 12, 5000, 5, 3, 2000));
        expected = JobFixtures.expectedEmbeddings(model, records);
    }

    @AfterAll
    static void leaks() {
        assertEquals(List.of(), ExecutorRuntime.closeAll(), "memory left after the jobs");
    }

    void runAndCheck(String master, String chunk, String split, String lanes) {
        Path out = tmp.resolve("out-" + master.replaceAll("\\W", "") + "-" + chunk + "-" + split + "-" + lanes);
        int rc = Main.run("embed", "--model", model.toString(), "--input", inputs.toString(), "--output", out.toString(),
                "--master", master, "--chunk-length", chunk, "--split-size", split, "--lanes", lanes,
                "--batch-tokens", "2048", "--backend", "cpu");
        assertEquals(0, rc);
        assertTrue(Files.exists(out.resolve("_SUCCESS")));
        JsonNode sum = summary(out);
        assertEquals("cpu", sum.path("settings").path("backend").asText());
        assertEquals(1, sum.path("backends").size(), sum.toString());
        assertTrue(sum.path("backends").get(0).asText().startsWith("cpu: "), sum.toString());
        JobOutputs.assertEmbeddings(out, records, expected, 1e-5, master + " chunk " + chunk);
    }

    static JsonNode summary(Path out) {
        assertTrue(Files.exists(out.resolve("summary.json")));
        try {
            return new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Without --backend the summary says what was asked for (auto here) and what the tasks ran on. */
    @Test
    void summaryNamesTheBackendAskedForAndTheOneThatRan() {
        Path out = tmp.resolve("out-default-backend");
        assertEquals(0, Main.run("embed", "--model", model.toString(), "--input", inputs.toString(), "--output",
                out.toString(), "--master", "local[2]", "--chunk-length", "1000"));
        JsonNode sum = summary(out);
        String asked = BackendChoice.resolve(null, "test").lower();  // auto unless MAMBA_BACKEND / mamba.backend say otherwise
        assertEquals(asked, sum.path("settings").path("backend").asText());
        boolean gpu;
        try {
            gpu = Backends.cuda().deviceCount() > 0;
        } catch (UnsupportedOperationException e) {
            gpu = false;
        }
        String ran = asked.equals("auto") ? (gpu ? "cuda: " : "cpu: ") : asked + ": ";
        assertEquals(1, sum.path("backends").size(), sum.toString());
        assertTrue(sum.path("backends").get(0).asText().startsWith(ran), "expected " + ran + "...: " + sum);
    }

    @Test
    void localOneCoreSmallChunksManySplits() {
        runAndCheck("local[1]", "64", "2000", "3");
    }

    @Test
    void localFourCoresOtherChunking() {
        runAndCheck("local[4]", "1000", "100000", "8");
    }

    @Test
    void badSymbolGoesToErrorsAndOthersAreExact() throws Exception {
        Path in = Files.createDirectories(tmp.resolve("bad"));
        Map<String, String> recs = new LinkedHashMap<>();
        recs.put("good1", records.get("a1"));
        recs.put("bad", "ACGTACGTXACGT");
        recs.put("good2", records.get("a2"));
        JobFixtures.writeFasta(in.resolve("x.fa"), recs);
        Path out = tmp.resolve("out-bad");
        assertEquals(0, Main.run("embed", "--model", model.toString(), "--input", in.toString(), "--output",
                out.toString(), "--master", "local[2]", "--chunk-length", "5", "--backend", "cpu"));
        Map<String, Row> emb = JobOutputs.byId(out, "embeddings");
        assertEquals(2, emb.size());
        assertTrue(JobOutputs.relErr(emb.get("good1").getList(3), expected.get("a1")[0]) <= 1e-5);
        Map<String, Row> err = JobOutputs.byId(out, "errors");
        assertEquals(1, err.size());
        Row e = err.get("bad");
        assertEquals(8L, e.getLong(2), "error position");
        assertTrue(e.getString(3).contains("'X'") && e.getString(3).contains("position 8"), e.getString(3));
    }

    @Test
    void existingOutputAndMissingInputsAreClearErrors() throws Exception {
        Path out = Files.createDirectories(tmp.resolve("exists"));
        assertNotEquals(0, Main.run("embed", "--model", model.toString(), "--input", inputs.toString(), "--output",
                out.toString(), "--master", "local[1]"));
        Path none = tmp.resolve("never");
        assertNotEquals(0, Main.run("embed", "--model", model.toString(), "--input", tmp.resolve("missing.fa").toString(),
                "--output", none.toString(), "--master", "local[1]"));
        assertFalse(Files.exists(none));
        assertNotEquals(0, Main.run("embed", "--model", tmp.resolve("nomodel").toString(), "--input", inputs.toString(),
                "--output", none.toString(), "--master", "local[1]"));
        assertFalse(Files.exists(none));
    }
}
