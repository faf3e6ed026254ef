package dev.mamba.jobs.models;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * The models shipped with the project ({@code models/dna}, {@code models/timeseries}, {@code models/audio}),
 * used when a job gets no {@code --model}. A job setting {@code builtin:<name>} is resolved on every JVM
 * that needs the files: to {@code <mamba.home>/models/<name>} when the system property {@code mamba.home}
 * names a checkout holding it (bin/mamba-pipeline sets it), else to a copy extracted once from the jar's
 * resources {@code dev/mamba/models/<name>/} into {@code ${java.io.tmpdir}/mamba-models/<name>-<sha256 prefix>}.
 * Executors of a cluster have no checkout: they extract from the application jar on their classpath.
 */
public final class BuiltinModels {
    private static final Logger LOG = LoggerFactory.getLogger(BuiltinModels.class);
    /** Prefix of a model setting that names a shipped model. */
    public static final String SCHEME = "builtin:";
    /** The shipped models. */
    public static final List<String> NAMES = List.of("dna", "timeseries", "audio");
    /** Where the jobs jar carries them. */
    public static final String RESOURCE_ROOT = "dev/mamba/models/";
    /** Files of a model directory; vocab.json only for token models. */
    static final List<String> FILES = List.of("config.json", "model.safetensors", "vocab.json");
    private static final Map<String, Path> RESOLVED = new ConcurrentHashMap<>();

    private BuiltinModels() {
    }

    /** True for a {@code builtin:<name>} setting. */
    public static boolean isBuiltin(String model) {
        return model != null && model.startsWith(SCHEME);
    }

    /**
     * The shipped model a command uses for an input format when no --model is given, as a {@code builtin:}
     * setting: FASTA/FASTQ → dna (embed, score); WAV → audio (embed only); CSV/Parquet → timeseries (score only).
     */
    public static String defaultFor(String command, String format) {
        String fmt = format.toLowerCase(Locale.ROOT);
        boolean score = command.equals("score");
        if (!score && !command.equals("embed")) {
            throw new IllegalArgumentException("no default model for command '" + command + "' (embed or score)");
        }
        switch (fmt) {
            case "fasta":
            case "fastq":
                return SCHEME + "dna";
            case "wav":
                if (score) {
                    throw new IllegalArgumentException("score: no shipped model scores WAV input (models/audio is "
                            + "trained on raw frames for embeddings; its anomaly scores are not meaningful): pass --model DIR");
                }
                return SCHEME + "audio";
            case "csv":
            case "parquet":
                if (!score) {
                    throw new IllegalArgumentException("embed: no shipped model embeds time series (models/timeseries "
                            + "is a forecaster for score): pass --model DIR");
                }
                return SCHEME + "timeseries";
            default:
                throw new IllegalArgumentException("no default model for input format '" + format
                        + "': expected fasta, fastq, wav, csv or parquet");
        }
    }

    /** The model directory of a setting on this JVM: a path as it is, {@code builtin:<name>} resolved (once per JVM). */
    public static Path resolve(String model) {
        if (!isBuiltin(model)) {
            return Path.of(model);
        }
        return RESOLVED.computeIfAbsent(model, m -> resolve(m, System.getProperty("mamba.home"),
                Path.of(System.getProperty("java.io.tmpdir"), "mamba-models"), BuiltinModels.class.getClassLoader()));
    }

    /** {@link #resolve(String)} with the checkout, the extraction root and the class loader given (tests). */
    static Path resolve(String model, String home, Path extractRoot, ClassLoader loader) {
        String name = name(model);
        if (home != null && !home.isBlank()) {
            Path dir = Path.of(home, "models", name);
            if (Files.isRegularFile(dir.resolve("config.json")) && Files.isRegularFile(dir.resolve("model.safetensors"))) {
                return dir.toAbsolutePath().normalize();
            }
        }
        try {
            return extract(name, extractRoot, loader);
        } catch (IOException e) {
            // IllegalStateException: the CLI prints it as one line (exit 2), executors fail the task with it
            throw new IllegalStateException("builtin model '" + name + "': cannot extract to " + extractRoot + ": "
                    + e + " (set -Djava.io.tmpdir to a writable directory, or pass --model DIR)", e);
        }
    }

    /** The name of a {@code builtin:<name>} setting, checked against the shipped models. */
    static String name(String model) {
        String name = model.substring(SCHEME.length());
        if (!NAMES.contains(name)) {
            throw new IllegalArgumentException("unknown builtin model '" + name + "': expected one of "
                    + String.join(", ", NAMES));
        }
        return name;
    }

    /**
     * Extracts the model's resources to {@code root/<name>-<sha256 prefix>} unless a complete copy is there;
     * written under a temporary sibling and renamed, so concurrent JVMs never see a half-written directory.
     */
    static Path extract(String name, Path root, ClassLoader loader) throws IOException {
        Map<String, Long> sizes = new LinkedHashMap<>();
        MessageDigest sha = sha256();
        for (String f : FILES) {
            String res = RESOURCE_ROOT + name + "/" + f;
            try (InputStream in = loader.getResourceAsStream(res)) {
                if (in == null) {
                    if (f.equals("vocab.json")) {
                        continue;
                    }
                    throw new IllegalStateException("builtin model '" + name + "': " + res + " is not on the classpath "
                            + "(the jobs jar was built without models/): pass --model DIR");
                }
                sha.update(f.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                sha.update((byte) 0);
                long n = 0;
                byte[] buf = new byte[1 << 16];
                for (int k; (k = in.read(buf)) > 0; n += k) {
                    sha.update(buf, 0, k);
                }
                sizes.put(f, n);
            }
        }
        String hash = HexFormat.of().formatHex(sha.digest()).substring(0, 16);
        Path dir = root.resolve(name + "-" + hash);
        if (complete(dir, sizes)) {
            return dir;
        }
        Files.createDirectories(root);
        Path tmp = root.resolve("." + name + "-" + hash + ".tmp-" + UUID.randomUUID());
        try {
            Files.createDirectory(tmp);
            for (String f : sizes.keySet()) {
                try (InputStream in = loader.getResourceAsStream(RESOURCE_ROOT + name + "/" + f)) {
                    Files.copy(in, tmp.resolve(f));
                }
            }
            if (!complete(tmp, sizes)) {
                throw new IOException("extracted files of " + name + " differ in size from the jar's");
            }
            if (Files.exists(dir)) {
                if (complete(dir, sizes)) {
                    return dir;  // another thread or JVM finished while we copied (ours is deleted below)
                }
                // Incomplete (a tmp cleaner took files): replace it. Another JVM may be doing the same.
                // (Deleting without the check above removed a copy another thread had just completed,
                // and that thread then failed its final check: seen once in a full BuiltinModelsTest run.)
                deleteTree(dir);
            }
            try {
                Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
                LOG.info("extracted builtin model {} to {}", name, dir);
            } catch (IOException e) {
                // rename(2) onto a non-empty directory fails: another JVM won the race with the same content
                if (!complete(dir, sizes)) {
                    throw e;
                }
            }
        } finally {
            deleteTree(tmp);
        }
        if (!complete(dir, sizes)) {
            throw new IOException(dir + " is incomplete after extraction");
        }
        return dir;
    }

    /** Every expected file present with its expected size. */
    private static boolean complete(Path dir, Map<String, Long> sizes) throws IOException {
        if (!Files.isDirectory(dir)) {
            return false;
        }
        for (Map.Entry<String, Long> e : sizes.entrySet()) {
            Path f = dir.resolve(e.getKey());
            if (!Files.isRegularFile(f) || Files.size(f) != e.getValue()) {
                return false;
            }
        }
        return true;
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        List<Path> all = new ArrayList<>();
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(all::add);
        }
        for (Path x : all) {
            Files.deleteIfExists(x);
        }
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
