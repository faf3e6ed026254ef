package dev.mamba.pipeline.io;

/** A half-open byte range {@code [start, end)} of a file: one input split. */
public record ByteRange(long start, long end) {
    public ByteRange {
        if (start < 0 || end < start) {
            throw new IllegalArgumentException("byte range [" + start + ", " + end + ") is invalid");
        }
    }

    /** {@code end - start}. */
    public long length() {
        return end - start;
    }
}
