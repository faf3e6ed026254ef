package dev.mamba.pipeline.checkpoint;

import java.util.Locale;

/**
 * The element types a safetensors header may name. Only {@link #F32}, {@link #BF16} and {@link #F16} can be
 * read (upcast to fp32) or written; the others are known so that their byte sizes can be checked.
 */
public enum SafeTensorsDType {
    BOOL(1), U8(1), I8(1), F8_E5M2(1), F8_E4M3(1), I16(2), U16(2), F16(2), BF16(2), I32(4), U32(4), F32(4),
    F64(8), I64(8), U64(8);

    /** What {@link #isFloatReadable()} accepts, for error messages. */
    public static final String SUPPORTED = "F32, BF16, F16";

    private final int bytes;

    SafeTensorsDType(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    /** Whether this loader can upcast it to fp32 (and write it). */
    public boolean isFloatReadable() {
        return this == F32 || this == BF16 || this == F16;
    }

    /** The dtype named {@code name} as in a safetensors header ("F32", "BF16", ...), or null if unknown. */
    public static SafeTensorsDType byName(String name) {
        if (name == null) {
            return null;
        }
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    /** The dtype named {@code name}, which must be one of {@value #SUPPORTED}. */
    public static SafeTensorsDType floatType(String name) {
        SafeTensorsDType t = byName(name);
        if (t == null || !t.isFloatReadable()) {
            throw new IllegalArgumentException("dtype " + name + " not supported; supported dtypes are " + SUPPORTED);
        }
        return t;
    }

    /** {@code x} rounded to this dtype and back to fp32 (what a save in this dtype then a load yields). */
    public float round(float x) {
        switch (this) {
            case F32:
                return x;
            case BF16:
                return HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(x));
            case F16:
                return HalfFloats.f16ToFloat(HalfFloats.floatToF16(x));
            default:
                throw new UnsupportedOperationException("dtype " + this + " not supported; supported dtypes are " + SUPPORTED);
        }
    }
}
