package dev.mamba.jobs.source;

import java.io.Serializable;

/** One stream a partition reads: a byte range of a file (the whole file for gzip and WAV). */
public record InputStreamSpec(String path, long start, long end) implements Serializable {
}
