package dev.mamba.jobs.spark;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What --overwrite may replace, and outputs that cannot be written failing before any work. */
class OutputDirTest {
    @TempDir
    Path tmp;

    private String refused(Path target, List<Path> reads) {
        return assertThrows(IllegalArgumentException.class, () -> new OutputDir(target, true, reads)).getMessage();
    }

    @Test
    void overwriteNeverDeletesWhatTheJobReads() throws IOException {
        Path in = Files.createDirectories(tmp.resolve("p/in"));
        Path fa = Files.writeString(in.resolve("x.fa"), ">a\nACGT\n");
        Path model = Files.createDirectories(tmp.resolve("m"));
        Files.writeString(tmp.resolve("p/_SUCCESS"), "");  // looks like a job's output, but holds the input
        String m = refused(tmp.resolve("p"), List.of(fa));
        assertTrue(m.contains("contains the job's input " + fa) && m.contains("--overwrite would delete it"), m);
        m = refused(in, List.of(in));
        assertTrue(m.contains(" is the job's input " + in), m);
        m = refused(model, List.of(fa, model));
        assertTrue(m.contains("is the job's input " + model), m);
        // an input reached through a link into the output
        Path link = Files.createSymbolicLink(tmp.resolve("link.fa"), fa);
        m = refused(tmp.resolve("p"), List.of(link));
        assertTrue(m.contains("contains the job's input " + link), m);
        assertTrue(Files.exists(fa), "input kept");
        m = refused(Path.of("").toAbsolutePath(), List.of());
        assertTrue(m.contains("the working directory"), m);
    }

    @Test
    void overwriteReplacesOnlyAJobsOutputOrAnEmptyDirectory() throws IOException {
        Path other = Files.createDirectories(tmp.resolve("notes"));
        Files.writeString(other.resolve("thesis.tex"), "...");
        String m = refused(other, List.of());
        assertTrue(m.contains("is not a job's output (no _SUCCESS"), m);
        Path file = Files.writeString(tmp.resolve("file"), "x");
        m = refused(file, List.of());
        assertTrue(m.contains("is not a directory"), m);
        assertTrue(Files.exists(other.resolve("thesis.tex")) && Files.exists(file));

        Path old = Files.createDirectories(tmp.resolve("old"));
        Files.writeString(old.resolve("_SUCCESS"), "");
        Files.writeString(old.resolve("summary.json"), "{}");
        try (OutputDir out = new OutputDir(old, true, List.of())) {
            Files.writeString(out.staging().resolve("summary.json"), "{\"new\":1}");
            out.commit();
        }
        assertEquals("{\"new\":1}", Files.readString(old.resolve("summary.json")));
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        try (OutputDir out = new OutputDir(empty, true, List.of())) {
            out.commit();
        }
        assertTrue(Files.exists(empty.resolve("_SUCCESS")));
    }

    @Test
    void unwritableOutputsFailAtOnceNamingTheOutput() throws IOException {
        Path file = Files.writeString(tmp.resolve("a.fa"), ">a\nA\n");
        Path under = file.resolve("out");
        String m = assertThrows(IllegalArgumentException.class, () -> new OutputDir(under, false)).getMessage();
        assertTrue(m.startsWith("cannot write output " + under + ": "), m);
        Path ro = Files.createDirectories(tmp.resolve("ro"));
        assertTrue(ro.toFile().setWritable(false));
        try {
            if (!Files.isWritable(ro)) {  // root ignores the permission bits
                m = assertThrows(IllegalArgumentException.class, () -> new OutputDir(ro.resolve("out"), false)).getMessage();
                assertTrue(m.contains("cannot write output " + ro.resolve("out") + ": permission denied"), m);
            }
        } finally {
            ro.toFile().setWritable(true);
        }
        // a closed, uncommitted output leaves nothing behind
        Path ok = tmp.resolve("ok");
        new OutputDir(ok, false).close();
        try (var l = Files.list(tmp)) {
            assertFalse(l.anyMatch(p -> p.getFileName().toString().contains("incomplete")), "staging removed");
        }
        assertFalse(Files.exists(ok));
    }
}
