package dev.mamba.jobs.source;

import org.apache.spark.sql.connector.read.Batch;
import org.apache.spark.sql.connector.read.InputPartition;
import org.apache.spark.sql.connector.read.PartitionReaderFactory;
import org.apache.spark.sql.connector.read.Scan;
import org.apache.spark.sql.types.StructType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Plans partitions: byte-range splits of plain FASTA/FASTQ files, groups of whole files otherwise. */
public final class ChunkScan implements Scan, Batch {
    private final ChunkFormat format;
    private final SourceOptions options;
    private final boolean reportErrors;
    /** The partitions, once planned: the pre-scan for repeated ids reads the files, so it runs once per scan. */
    private List<ChunkPartition> planned;

    ChunkScan(ChunkFormat format, SourceOptions options, Map<String, String> raw) {
        this.format = format;
        this.options = options;
        String onError = new org.apache.spark.sql.util.CaseInsensitiveStringMap(raw).getOrDefault("onError", "fail")
                .toLowerCase(Locale.ROOT);
        if (!onError.equals("fail") && !onError.equals("report")) {
            throw new IllegalArgumentException("option onError = '" + onError + "': expected fail or report");
        }
        this.reportErrors = onError.equals("report");
    }

    @Override
    public StructType readSchema() {
        return ChunkSchema.SCHEMA;
    }

    @Override
    public Batch toBatch() {
        return this;
    }

    @Override
    public String description() {
        return format + " chunks of " + options.paths;
    }

    /** Input files: each path, or the input files of a directory ({@link InputFiles#skipped}), sorted. */
    public static List<Path> files(List<String> paths) {
        return expand(paths).inputs();
    }

    /**
     * {@link #files}, plus the directory entries passed over (the driver logs them once). A file named more than
     * once (twice, or itself and through its directory or a link) is listed once, where it first came: read
     * twice, each of its records would repeat an id of the file.
     */
    public static InputFiles.Listing expand(List<String> paths) {
        List<Path> out = new ArrayList<>();
        List<Path> skipped = new ArrayList<>();
        java.util.Set<Path> seen = new java.util.HashSet<>();
        for (String s : paths) {
            // Absolute: executors of a cluster run in their own working directories.
            Path local = InputFiles.localPath(s);
            Path p = local == null ? null : local.toAbsolutePath().normalize();
            if (p == null || !Files.exists(p)) {
                throw new IllegalArgumentException("input path " + s + " does not exist");
            }
            try {
                if (Files.isDirectory(p)) {
                    InputFiles.Listing l = InputFiles.list(p);
                    for (Path f : l.inputs()) {
                        if (seen.add(f.toRealPath())) {
                            out.add(f);
                        }
                    }
                    skipped.addAll(l.skipped());
                } else if (seen.add(p.toRealPath())) {
                    out.add(p);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list input " + s + ": " + e.getMessage(), e);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("no input files under " + paths + (skipped.isEmpty() ? ""
                    : " (only files that are not input: " + InputFiles.describe(skipped, 10) + ")"));
        }
        return new InputFiles.Listing(out, skipped);
    }

    @Override
    public InputPartition[] planInputPartitions() {
        if (planned == null) {
            List<ChunkPartition> parts = split();
            // the pre-scan for repeated ids, when some plain file is read as several streams (RepeatedIds)
            planned = format.splittable() ? RepeatedIds.mark(parts, format, options) : parts;
        }
        return planned.toArray(new InputPartition[0]);
    }

    /** Byte-range splits of the plain FASTA/FASTQ files, each cut into sub-ranges; whole files in groups. */
    private List<ChunkPartition> split() {
        List<ChunkPartition> parts = new ArrayList<>();
        List<InputStreamSpec> wholeFiles = new ArrayList<>();
        try {
            for (Path f : files(options.paths)) {
                long size = Files.size(f);
                if (format.isSplittableFile(f)) {
                    for (dev.mamba.pipeline.io.ByteRange r : dev.mamba.pipeline.io.fasta.Fastx.planSplits(f, options.splitBytes)) {
                        parts.add(new ChunkPartition(parts.size(), subRanges(f.toString(), r.start(), r.end())));
                    }
                } else {
                    wholeFiles.add(new InputStreamSpec(f.toString(), 0, size));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e.getMessage(), e);
        }
        for (int i = 0; i < wholeFiles.size(); i += options.lanes) {
            parts.add(new ChunkPartition(parts.size(),
                    List.copyOf(wholeFiles.subList(i, Math.min(wholeFiles.size(), i + options.lanes)))));
        }
        return parts;
    }

    /** Cuts a split into {@code lanes} sub-ranges; readers resolve record boundaries in each. */
    private List<InputStreamSpec> subRanges(String file, long start, long end) {
        List<InputStreamSpec> out = new ArrayList<>();
        long len = end - start;
        int n = (int) Math.max(1, Math.min(options.lanes, len));
        for (int i = 0; i < n; i++) {
            long a = start + len * i / n, b = start + len * (i + 1) / n;
            out.add(new InputStreamSpec(file, a, b));
        }
        return out;
    }

    @Override
    public PartitionReaderFactory createReaderFactory() {
        return new ChunkReaderFactory(format, options, reportErrors);
    }
}
