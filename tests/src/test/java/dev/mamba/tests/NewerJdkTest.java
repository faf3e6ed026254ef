package dev.mamba.tests;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The embed job on a JDK whose Subject.getSubject throws (24+, where Spark's Hadoop client cannot start): one
 * clear error line and exit code 2 instead of Hadoop's stack trace, and no output directory. Runs where a
 * JDK 24+ is installed under /usr/lib/jvm (CI and the dev machine have Temurin 25).
 */
class NewerJdkTest {
    @TempDir
    Path tmp;

    static Optional<Path> newerJava() throws IOException {
        Path jvms = Path.of("/usr/lib/jvm");
        if (!Files.isDirectory(jvms)) {
            return Optional.empty();
        }
        try (Stream<Path> s = Files.list(jvms)) {
            return s.filter(d -> Files.isExecutable(d.resolve("bin/java")) && feature(d) >= 24)
                    .map(d -> d.resolve("bin/java")).sorted().findFirst();
        }
    }

    /** The JDK's feature version from its release file (0 when unreadable). */
    static int feature(Path home) {
        try {
            for (String l : Files.readAllLines(home.resolve("release"))) {
                if (l.startsWith("JAVA_VERSION=")) {
                    String v = l.substring(l.indexOf('"') + 1);
                    return Integer.parseInt(v.split("[.\"]")[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return 0;
    }

    @Test
    void theEmbedJobNamesTheJdkInsteadOfFailingInsideHadoop() throws Exception {
        Optional<Path> java = newerJava();
        assumeTrue(java.isPresent(), "no JDK 24+ under /usr/lib/jvm");
        Path out = tmp.resolve("out");
        Path genomes = StandaloneClusterTest.repoRoot().resolve("samples").resolve("genomes");
        Process p = new ProcessBuilder(List.of(java.get().toString(), "-Xmx1g", "-cp", System.getProperty("java.class.path"),
                "dev.mamba.jobs.cli.Main", "embed", "--input", genomes.toString(), "--output", out.toString(),
                "--backend", "cpu")).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the JVM did not exit");
        assertEquals(2, p.exitValue(), log);
        assertTrue(log.contains("error: Spark's Hadoop client (3.4.2) does not run on JDK"), log);
        assertTrue(log.contains("JDK 17 or 21"), log);
        assertFalse(log.contains("at org.apache.hadoop"), "a Hadoop stack trace reached the user:\n" + log);
        assertFalse(Files.exists(out), "no output directory for a job that never ran");
    }
}
