package dev.mamba.kernels;

import java.util.Locale;

/** Arithmetic mode of the matrix products (and, for {@link #BF16}, of stored activations). */
public enum Precision {
    /** Full fp32 everywhere: the mode for exact checks; the only mode of the CPU backend. */
    FP32,
    /** fp32 storage, matrix products on tensor cores in TF32. */
    TF32,
    /** bf16 GEMM weights and activations, fp32 accumulation, residual stream and SSM state. */
    BF16;

    /** Parses {@code fp32|tf32|bf16} (any case); names the accepted values on error. */
    public static Precision parse(String s) {
        try {
            return valueOf(s.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown precision '" + s + "': expected fp32, tf32 or bf16");
        }
    }

    public String lower() {
        return name().toLowerCase(Locale.ROOT);
    }
}
