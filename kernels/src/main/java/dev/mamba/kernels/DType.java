package dev.mamba.kernels;

/** Element type of a {@link Tensor}. */
public enum DType {
    /** IEEE float32. */
    F32(4),
    /** 32-bit signed integer (token ids, lengths, targets). */
    I32(4),
    /** bfloat16; only device backends store it (activations and GEMM weights in bf16 mode). */
    BF16(2);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }
}
