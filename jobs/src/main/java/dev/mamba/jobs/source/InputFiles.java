package dev.mamba.jobs.source;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Which files of an input directory are input. One rule for planning (ChunkScan, InputPlan) and for format
 * detection (the CLI), so a file is never guessed from but then not read, or read but not guessed from.
 */
public final class InputFiles {
    /**
     * Indexes and checksums that tools write next to their data (samtools faidx and bgzip: .fai .gzi; BAM, CRAM,
     * tabix and GATK indexes: .bai .crai .csi .tbi .idx; Hadoop checksums: .crc). None is input to any format
     * read here, so skipping them drops nothing; anything else that is not input still fails, naming the file.
     */
    private static final List<String> SIDECARS = List.of(".fai", ".gzi", ".bai", ".crai", ".csi", ".tbi", ".idx", ".crc");

    private InputFiles() {
    }

    /**
     * An input as a local path: a plain path, or a {@code file:} URI; null for other schemes (hdfs://, s3a://),
     * which this JVM cannot see as files.
     */
    public static Path localPath(String input) {
        if (input.startsWith("file:")) {
            return Path.of(java.net.URI.create(input).getPath());
        }
        return input.contains("://") ? null : Path.of(input);
    }

    /** The files of a directory expansion: what is read, and what was passed over (for one log line). */
    public record Listing(List<Path> inputs, List<Path> skipped) {
    }

    /** Whether a file found in an input directory is passed over: hidden, Spark/Hadoop bookkeeping, or an index. */
    public static boolean skipped(String name) {
        // Spark and Hadoop mark bookkeeping (_SUCCESS, _temporary, .part-0.crc, staging) with these prefixes.
        if (name.startsWith(".") || name.startsWith("_")) {
            return true;
        }
        String n = name.toLowerCase(Locale.ROOT);
        return SIDECARS.stream().anyMatch(n::endsWith);
    }

    /** The regular files of {@code dir} in name order, split into inputs and skipped ones. */
    public static Listing list(Path dir) throws IOException {
        List<Path> in = new ArrayList<>();
        List<Path> skip = new ArrayList<>();
        try (Stream<Path> l = Files.list(dir)) {
            for (Path f : (Iterable<Path>) l.filter(Files::isRegularFile).sorted()::iterator) {
                (skipped(f.getFileName().toString()) ? skip : in).add(f);
            }
        }
        return new Listing(in, skip);
    }

    /** The paths, at most {@code max} of them, then how many more. */
    public static String describe(List<Path> files, int max) {
        String shown = files.stream().limit(max).map(Path::toString).collect(Collectors.joining(", "));
        return files.size() > max ? shown + " and " + (files.size() - max) + " more" : shown;
    }
}
