package dev.mamba.jobs.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * forward's file errors name the file and why, and an output that cannot be written fails before the model
 * is loaded (the model here does not exist, so any later check would report that instead).
 */
class ForwardCommandTest {
    @TempDir
    Path tmp;

    /** Runs the command; returns its stderr, after checking the exit code 2. */
    private static String fails(String... args) {
        PrintStream err = System.err;
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            assertEquals(2, Main.run(args), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(err);
        }
        return e.toString(StandardCharsets.UTF_8).strip();
    }

    private String forward(Path tokens, Path out) {
        return fails("forward", "--model", tmp.resolve("no-model").toString(), "--tokens", tokens.toString(),
                "--output", out.toString(), "--backend", "cpu");
    }

    @Test
    void badOutputsFailBeforeTheModelRuns() throws IOException {
        Path tokens = Files.writeString(tmp.resolve("t.txt"), "1 2 3\n");
        Path missing = tmp.resolve("nonexistent/x.safetensors");
        assertEquals("error: --output " + missing + ": directory " + missing.getParent() + " does not exist",
                forward(tokens, missing));
        Path file = Files.writeString(tmp.resolve("file"), "");
        assertEquals("error: --output " + file.resolve("x.safetensors") + ": directory " + file + " is not a directory",
                forward(tokens, file.resolve("x.safetensors")));
        Path dir = Files.createDirectories(tmp.resolve("outdir"));
        assertEquals("error: --output " + dir + " is a directory; expected a file name such as "
                + dir.resolve("out.safetensors"), forward(tokens, dir));
    }

    @Test
    void aTokenFileThatCannotBeReadIsNamed() throws IOException {
        Path out = tmp.resolve("x.safetensors");
        Path dir = Files.createDirectories(tmp.resolve("tokens"));
        assertEquals("error: token file " + dir + " is a directory (expected a file of token ids, one sequence a line)",
                forward(dir, out));
        assertEquals("error: token file " + tmp.resolve("none.txt") + " not found", forward(tmp.resolve("none.txt"), out));
    }
}
