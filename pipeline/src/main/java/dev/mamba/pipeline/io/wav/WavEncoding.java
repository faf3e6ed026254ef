package dev.mamba.pipeline.io.wav;

/** Sample encodings the WAV reader decodes, with how each maps to [-1, 1]. */
public enum WavEncoding {
    /** 8-bit unsigned PCM: (b - 128) / 128, so 0 → -1, 128 → 0, 255 → 0.9921875. */
    PCM_U8(1),
    /** 16-bit signed little-endian PCM: s / 32768. */
    PCM_S16(2),
    /** 24-bit signed little-endian PCM: s / 8388608. */
    PCM_S24(3),
    /** 32-bit signed little-endian PCM: s / 2147483648. */
    PCM_S32(4),
    /** 32-bit IEEE float, passed through (nominally in [-1, 1]; NaN and infinities are rejected). */
    FLOAT32(4);

    /** Bytes one sample occupies in the file. */
    public final int bytes;

    WavEncoding(int bytes) {
        this.bytes = bytes;
    }
}
