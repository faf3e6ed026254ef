package dev.mamba.tests;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The notebooks in notebooks/ execute headless without a cell error ({@code notebooks/run-all.sh}, which needs
 * Debian's jupyter-nbconvert, python3-ipykernel, python3-pandas and python3-matplotlib; skipped without
 * jupyter-nbconvert), and the committed copies carry their executed outputs, plots included.
 */
class NotebooksTest {
    static final List<String> NOTEBOOKS = List.of("cluster_job.ipynb", "embed_genomes.ipynb", "score_timeseries.ipynb");
    /** run-all.sh bounds each notebook (NOTEBOOK_TIMEOUT, 600 s); this only guards against a hung script. */
    static final long SCRIPT_LIMIT_MINUTES = 40;

    @Test
    void committedNotebooksCarryTheirOutputs() throws IOException {
        Path dir = StandaloneClusterTest.repoRoot().resolve("notebooks");
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(NOTEBOOKS, s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".ipynb")).sorted()
                    .collect(Collectors.toList()));
        }
        for (String nb : NOTEBOOKS) {
            checkExecuted(dir.resolve(nb));
        }
    }

    @Test
    void notebooksExecuteHeadless() throws Exception {
        assumeTrue(onPath("jupyter-nbconvert"), "requires jupyter-nbconvert (Debian: jupyter-nbconvert python3-ipykernel "
                + "python3-pandas python3-matplotlib)");
        Path root = StandaloneClusterTest.repoRoot();
        Path out = Files.createDirectories(Path.of("target", "notebooks").toAbsolutePath());
        Path log = out.resolve("run-all.log");
        ProcessBuilder pb = new ProcessBuilder("bash", root.resolve("notebooks/run-all.sh").toString(), "--output-dir",
                out.toString()).directory(root.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("MAMBA_NOTEBOOK_WORK", Path.of("target", "notebook-work").toAbsolutePath().toString());
        Process p = pb.start();
        if (!p.waitFor(SCRIPT_LIMIT_MINUTES, TimeUnit.MINUTES)) {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
            fail("notebooks/run-all.sh still running after " + SCRIPT_LIMIT_MINUTES + " min\n" + tail(log));
        }
        assertEquals(0, p.exitValue(), "notebooks/run-all.sh\n" + tail(log));
        for (String nb : NOTEBOOKS) {
            checkExecuted(out.resolve(nb));
        }
    }

    /** nbformat 4, every code cell executed, no error output, at least one plot. */
    static void checkExecuted(Path nb) throws IOException {
        JsonNode root = new ObjectMapper().readTree(nb.toFile());
        assertEquals(4, root.path("nbformat").asInt(), nb + " nbformat");
        assertEquals("python3", root.path("metadata").path("kernelspec").path("name").asText(), nb + " kernel");
        int images = 0, code = 0;
        for (JsonNode cell : root.path("cells")) {
            if (!cell.path("cell_type").asText().equals("code")) {
                continue;
            }
            code++;
            assertFalse(cell.path("execution_count").isNull() || cell.path("execution_count").isMissingNode(),
                    nb + ": a code cell was not executed:\n" + cell.path("source"));
            for (JsonNode o : cell.path("outputs")) {
                assertFalse(o.path("output_type").asText().equals("error"),
                        nb + ": cell error " + o.path("ename").asText() + ": " + o.path("evalue").asText());
                assertFalse(o.path("name").asText().equals("stderr") && o.path("text").toString().contains("Traceback"),
                        nb + ": traceback on stderr");
                images += o.path("data").has("image/png") ? 1 : 0;
            }
        }
        assertTrue(code > 0, nb + " has code cells");
        assertTrue(images > 0, nb + " shows no plot");
    }

    static boolean onPath(String exe) {
        String path = System.getenv("PATH");
        assertNotNull(path, "PATH");
        for (String d : path.split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(d, exe))) {
                return true;
            }
        }
        return false;
    }

    static String tail(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 80), lines.size()));
    }
}
