package dev.mamba.kernels.cuda;

/** Host-side bfloat16 conversions (round to nearest even, as {@code __float2bfloat16_rn}). */
public final class Bf16 {
    private Bf16() {
    }

    /** The bf16 bit pattern nearest to {@code f} (ties to even); NaN stays a quiet NaN. */
    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int rounded = bits + 0x7fff + ((bits >>> 16) & 1);
        return (short) (rounded >>> 16);
    }

    /** The float with the given bf16 bits. */
    public static float toFloat(short h) {
        return Float.intBitsToFloat((h & 0xffff) << 16);
    }

    /** {@code f} rounded to bf16 and back. */
    public static float round(float f) {
        return toFloat(fromFloat(f));
    }
}
