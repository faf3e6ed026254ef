package dev.mamba.pipeline.io.wav;

/**
 * How a WAV file becomes steps: {@code frameSize} consecutive sample frames form one step (default 400,
 * 25 ms at 16 kHz), up to {@code chunkLen} steps form a chunk (default 4096), channels stay interleaved
 * unless {@code mixToMono}; {@code sequenceId} null means the file name without its extension.
 * Immutable; the withers return a copy.
 */
public final class WavOptions {
    /** Default sample frames per step. */
    public static final int DEFAULT_FRAME_SIZE = 400;
    /** Default steps per chunk. */
    public static final int DEFAULT_CHUNK_LEN = 4096;

    private final int frameSize;
    private final int chunkLen;
    private final boolean mixToMono;
    private final String sequenceId;

    private WavOptions(int frameSize, int chunkLen, boolean mixToMono, String sequenceId) {
        if (frameSize <= 0) {
            throw new IllegalArgumentException("frameSize must be > 0, is " + frameSize);
        }
        if (chunkLen <= 0) {
            throw new IllegalArgumentException("chunkLen must be > 0, is " + chunkLen);
        }
        this.frameSize = frameSize;
        this.chunkLen = chunkLen;
        this.mixToMono = mixToMono;
        this.sequenceId = sequenceId;
    }

    /** frameSize 400, chunkLen 4096, channels interleaved, id from the file name. */
    public static WavOptions defaults() {
        return new WavOptions(DEFAULT_FRAME_SIZE, DEFAULT_CHUNK_LEN, false, null);
    }

    /** Sample frames per step. */
    public WavOptions frameSize(int frameSize) {
        return new WavOptions(frameSize, chunkLen, mixToMono, sequenceId);
    }

    /** Steps per chunk. */
    public WavOptions chunkLen(int chunkLen) {
        return new WavOptions(frameSize, chunkLen, mixToMono, sequenceId);
    }

    /** Average the channels of each sample frame into one value. */
    public WavOptions mixToMono(boolean mixToMono) {
        return new WavOptions(frameSize, chunkLen, mixToMono, sequenceId);
    }

    /** The chunks' sequence id (null: file name without extension). */
    public WavOptions sequenceId(String sequenceId) {
        return new WavOptions(frameSize, chunkLen, mixToMono, sequenceId);
    }

    public int frameSize() {
        return frameSize;
    }

    public int chunkLen() {
        return chunkLen;
    }

    public boolean mixToMono() {
        return mixToMono;
    }

    public String sequenceId() {
        return sequenceId;
    }
}
