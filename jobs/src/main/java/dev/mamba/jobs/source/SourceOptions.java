package dev.mamba.jobs.source;

import org.apache.spark.sql.util.CaseInsensitiveStringMap;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Options shared by the chunk data sources, with their defaults. */
public final class SourceOptions implements Serializable {
    private static final long serialVersionUID = 1L;
    public static final int DEFAULT_CHUNK_LENGTH = 4096;
    public static final long DEFAULT_SPLIT_BYTES = 64L << 20;
    public static final int DEFAULT_LANES = 8;

    /** Steps per chunk ({@code chunkLength}). */
    public final int chunkLength;
    /** Target bytes per split of a plain FASTA/FASTQ file ({@code splitSize}). */
    public final long splitBytes;
    /** Streams read at once per partition, interleaved ({@code lanes}); match the job's lanes. */
    public final int lanes;
    /** WAV: samples per frame (one step) ({@code frameSize}). */
    public final int frameSize;
    /** WAV: mix channels to mono ({@code mixToMono}). */
    public final boolean mixToMono;
    public final List<String> paths;

    SourceOptions(Map<String, String> raw) {
        CaseInsensitiveStringMap o = new CaseInsensitiveStringMap(raw);
        chunkLength = positive(o, "chunkLength", DEFAULT_CHUNK_LENGTH);
        splitBytes = positiveLong(o, "splitSize", DEFAULT_SPLIT_BYTES);
        lanes = positive(o, "lanes", DEFAULT_LANES);
        frameSize = positive(o, "frameSize", 400);
        mixToMono = o.getBoolean("mixToMono", false);
        paths = paths(o);
    }

    private static int positive(CaseInsensitiveStringMap o, String key, int def) {
        long v = positiveLong(o, key, def);
        if (v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("option " + key + " = " + v + " is too large");
        }
        return (int) v;
    }

    private static long positiveLong(CaseInsensitiveStringMap o, String key, long def) {
        String s = o.get(key);
        if (s == null) {
            return def;
        }
        long v;
        try {
            v = Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("option " + key + " = '" + s + "' is not a whole number");
        }
        if (v <= 0) {
            throw new IllegalArgumentException("option " + key + " must be > 0, is " + v);
        }
        return v;
    }

    /** {@code load(path)} sets "path"; {@code load(p1, p2, …)} sets "paths" to a JSON array. */
    private static List<String> paths(CaseInsensitiveStringMap o) {
        List<String> out = new ArrayList<>();
        String one = o.get("path");
        if (one != null) {
            out.add(one);
        }
        String many = o.get("paths");
        if (many != null) {
            try {
                for (com.fasterxml.jackson.databind.JsonNode n : new com.fasterxml.jackson.databind.ObjectMapper().readTree(many)) {
                    out.add(n.asText());
                }
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException("option paths is not a JSON array: " + many, e);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("no input path: use load(path)");
        }
        return out;
    }
}
