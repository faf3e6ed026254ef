package dev.mamba.jobs.source;

import java.io.Serializable;

/**
 * One stream a partition reads: a byte range of a file (the whole file for gzip and WAV). {@code repeated}: the
 * ordinals of the stream's records whose id an earlier record of the file already had, ascending, when the file
 * was pre-scanned ({@link RepeatedIds}); null when it was not.
 */
public record InputStreamSpec(String path, long start, long end, long[] repeated) implements Serializable {
    public InputStreamSpec(String path, long start, long end) {
        this(path, start, end, null);
    }

    InputStreamSpec withRepeated(long[] ordinals) {
        return new InputStreamSpec(path, start, end, ordinals);
    }
}
