package dev.mamba.tests;

import dev.mamba.jobs.cli.Main;
import dev.mamba.jobs.spark.ExecutorRuntime;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The embed job in local mode on the GPU, full-fp32: every sequence's embedding within 1e-5 of the CPU reference,
 * and no device memory left once the runtime closes. The job's prewarm runs a throwaway forward in a runner that
 * a task then borrows; its state must not reach the task's sequences, and its memory must be freed with the rest.
 */
@Tag("gpu")
class CudaEmbedJobTest {
    @TempDir
    static Path tmp;

    @AfterAll
    static void leaks() {
        assertEquals(List.of(), ExecutorRuntime.closeAll(), "device memory left after the job");
    }

    @Test
    void embedJobOnTheGpuMatchesTheCpuReference() throws Exception {
        CudaModelTest.probe();
        CudaModelTest.requireCuda();
        Path model = JobFixtures.dnaModel(Files.createDirectories(tmp.resolve("model")));
        Path inputs = Files.createDirectories(tmp.resolve("in"));
        Map<String, String> records = JobFixtures.writeFastaInputs(inputs, new Random(5), 10, 6000, 5, 3, 2500);
        Map<String, float[][]> expected = JobFixtures.expectedEmbeddings(model, records);
        Path out = tmp.resolve("out");
        assertEquals(0, Main.run("embed", "--model", model.toString(), "--input", inputs.toString(), "--output",
                out.toString(), "--master", "local[2]", "--chunk-length", "700", "--lanes", "4", "--batch-tokens", "2800",
                "--backend", "cuda", "--precision", "fp32"));
        JobOutputs.assertEmbeddings(out, records, expected, 1e-5, "cuda fp32");
        com.fasterxml.jackson.databind.JsonNode sum = EmbedJobTest.summary(out);
        assertEquals(1, sum.path("backends").size(), sum.toString());
        assertTrue(sum.path("backends").get(0).asText().startsWith("cuda: device 0"), sum.toString());
    }
}
