package dev.mamba.jobs.models;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Default model per command and format; builtin: settings resolved to a checkout or an extracted copy. */
class BuiltinModelsTest {
    @TempDir
    Path tmp;

    @Test
    void defaultsPerCommandAndFormat() {
        assertEquals("builtin:dna", BuiltinModels.defaultFor("embed", "fasta"));
        assertEquals("builtin:dna", BuiltinModels.defaultFor("embed", "FASTQ"));
        assertEquals("builtin:dna", BuiltinModels.defaultFor("score", "fasta"));
        assertEquals("builtin:dna", BuiltinModels.defaultFor("score", "fastq"));
        assertEquals("builtin:audio", BuiltinModels.defaultFor("embed", "wav"));
        assertEquals("builtin:timeseries", BuiltinModels.defaultFor("score", "csv"));
        assertEquals("builtin:timeseries", BuiltinModels.defaultFor("score", "parquet"));
        IllegalArgumentException wav = assertThrows(IllegalArgumentException.class,
                () -> BuiltinModels.defaultFor("score", "wav"));
        assertTrue(wav.getMessage().contains("--model") && wav.getMessage().contains("models/audio"), wav.getMessage());
        IllegalArgumentException csv = assertThrows(IllegalArgumentException.class,
                () -> BuiltinModels.defaultFor("embed", "csv"));
        assertTrue(csv.getMessage().contains("--model"), csv.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BuiltinModels.defaultFor("score", "bam"));
        assertThrows(IllegalArgumentException.class, () -> BuiltinModels.defaultFor("forward", "fasta"));
    }

    @Test
    void pathsStayPathsAndUnknownNamesFail() {
        assertEquals(Path.of("/data/models/x"), BuiltinModels.resolve("/data/models/x"));
        assertFalse(BuiltinModels.isBuiltin("/data/models/x"));
        assertTrue(BuiltinModels.isBuiltin("builtin:dna"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BuiltinModels.resolve("builtin:rna", null, tmp, getClass().getClassLoader()));
        assertTrue(e.getMessage().contains("'rna'") && e.getMessage().contains("dna, timeseries, audio"), e.getMessage());
    }

    @Test
    void checkoutWinsWhenMambaHomeHoldsTheModel() throws IOException {
        Path home = tmp.resolve("checkout");
        Path dna = Files.createDirectories(home.resolve("models/dna"));
        Files.writeString(dna.resolve("config.json"), "{}");
        Files.writeString(dna.resolve("model.safetensors"), "x");
        Path root = tmp.resolve("extract");
        assertEquals(dna.toAbsolutePath(), BuiltinModels.resolve("builtin:dna", home.toString(), root, fakeModels(null)));
        assertFalse(Files.exists(root), "nothing extracted when the checkout has the model");
        // a checkout without that model: extracted instead
        Path got = BuiltinModels.resolve("builtin:timeseries", home.toString(), root, fakeModels(null));
        assertTrue(got.startsWith(root), got.toString());
    }

    @Test
    void extractsOnceByContentHash() throws Exception {
        ClassLoader v1 = fakeModels("one");
        Path root = tmp.resolve("extract");
        Path a = BuiltinModels.resolve("builtin:dna", null, root, v1);
        assertTrue(a.getFileName().toString().matches("dna-[0-9a-f]{16}"), a.toString());
        assertFiles(a, "one", true);
        FileTime written = Files.getLastModifiedTime(a.resolve("model.safetensors"));
        Files.setLastModifiedTime(a.resolve("model.safetensors"), FileTime.fromMillis(1000));
        Path b = BuiltinModels.resolve("builtin:dna", null, root, v1);
        assertEquals(a, b);
        assertEquals(FileTime.fromMillis(1000), Files.getLastModifiedTime(b.resolve("model.safetensors")),
                "a complete copy is reused, not rewritten (was " + written + ")");
        // other content, other directory; the old one stays for JVMs still using it
        Path c = BuiltinModels.resolve("builtin:dna", null, root, fakeModels("two"));
        assertNotEquals(a, c);
        assertFiles(c, "two", true);
        assertTrue(Files.isDirectory(a));
        // a copy a tmp cleaner thinned out is extracted again
        Files.delete(a.resolve("config.json"));
        assertEquals(a, BuiltinModels.resolve("builtin:dna", null, root, v1));
        assertFiles(a, "one", true);
        // no temporary directories left behind
        try (Stream<Path> s = Files.list(root)) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().startsWith(".")).collect(Collectors.toList()));
        }
    }

    @Test
    void vocabIsOptionalModelIsNot() throws Exception {
        Path root = tmp.resolve("extract");
        Path ts = BuiltinModels.resolve("builtin:timeseries", null, root, fakeModels("ts"));
        assertFiles(ts, "ts", false);
        ClassLoader empty = new URLClassLoader(new URL[0], null);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> BuiltinModels.resolve("builtin:audio", null, root, empty));
        assertTrue(e.getMessage().contains("dev/mamba/models/audio/config.json") && e.getMessage().contains("--model"),
                e.getMessage());
    }

    @Test
    void unwritableRootIsOneClearError() throws Exception {
        Path file = Files.writeString(tmp.resolve("not-a-dir"), "x");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> BuiltinModels.resolve("builtin:dna", null, file.resolve("sub"), fakeModels("w")));
        assertTrue(e.getMessage().contains("cannot extract to " + file.resolve("sub")) && e.getMessage().contains("--model"),
                e.getMessage());
    }

    @Test
    void concurrentExtractionsAgree() throws Exception {
        ClassLoader cl = fakeModels("race");
        Path root = tmp.resolve("extract");
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Path>> fs = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                fs.add(pool.submit((Callable<Path>) () -> BuiltinModels.extract("dna", root, cl)));
            }
            Path first = fs.get(0).get();
            for (Future<Path> f : fs) {
                assertEquals(first, f.get());
            }
            assertFiles(first, "race", true);
        } finally {
            pool.shutdownNow();
        }
        try (Stream<Path> s = Files.list(root)) {
            assertEquals(1, s.count(), "one directory, no leftovers");
        }
    }

    /** The jobs jar carries the checkout's models byte for byte (the pom's resources section). */
    @Test
    void jarResourcesAreTheCheckoutsModels() throws IOException {
        Path models = checkoutModels();
        ClassLoader cl = BuiltinModels.class.getClassLoader();
        for (String name : BuiltinModels.NAMES) {
            for (String f : BuiltinModels.FILES) {
                Path src = models.resolve(name).resolve(f);
                try (InputStream in = cl.getResourceAsStream(BuiltinModels.RESOURCE_ROOT + name + "/" + f)) {
                    if (!Files.exists(src)) {
                        assertEquals(null, in, name + "/" + f + " is not in the checkout, so not in the jar");
                        continue;
                    }
                    assertNotNull(in, name + "/" + f + " missing from the classpath");
                    assertArrayEquals(Files.readAllBytes(src), in.readAllBytes(), name + "/" + f);
                }
            }
        }
        // the real thing: extracted from the classpath resources, identical to the checkout
        Path dna = BuiltinModels.resolve("builtin:dna", null, tmp.resolve("real"), cl);
        assertArrayEquals(Files.readAllBytes(models.resolve("dna/model.safetensors")),
                Files.readAllBytes(dna.resolve("model.safetensors")));
    }

    private static void assertFiles(Path dir, String tag, boolean vocab) throws IOException {
        assertEquals("{\"tag\": \"" + tag + "\"}", Files.readString(dir.resolve("config.json")));
        assertArrayEquals(weights(tag), Files.readAllBytes(dir.resolve("model.safetensors")));
        assertEquals(vocab, Files.exists(dir.resolve("vocab.json")));
    }

    private static byte[] weights(String tag) {
        byte[] b = new byte[200_000 + tag.length()];
        new Random(tag.hashCode()).nextBytes(b);
        return b;
    }

    /** A class loader whose resources hold small fake models (dna with vocab.json, the others without). */
    private ClassLoader fakeModels(String tag) throws IOException {
        String t = tag == null ? "default" : tag;
        Path root = Files.createDirectories(tmp.resolve("cp-" + t + "-" + System.nanoTime()));
        for (String name : BuiltinModels.NAMES) {
            Path d = Files.createDirectories(root.resolve(BuiltinModels.RESOURCE_ROOT + name));
            Files.writeString(d.resolve("config.json"), "{\"tag\": \"" + t + "\"}", StandardCharsets.UTF_8);
            Files.write(d.resolve("model.safetensors"), weights(t));
            if (name.equals("dna")) {
                Files.writeString(d.resolve("vocab.json"), "{\"A\": 0}");
            }
        }
        return new URLClassLoader(new URL[]{root.toUri().toURL()}, null);
    }

    private static Path checkoutModels() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isRegularFile(p.resolve("models/dna/config.json"))) {
            p = p.getParent();
        }
        assertNotNull(p, "no models/dna above " + Path.of("").toAbsolutePath());
        return p.resolve("models");
    }
}
