package dev.mamba.pipeline.checkpoint;

/** Bit-exact conversions between fp32 and the 16-bit float formats (bfloat16, IEEE binary16), rounding to nearest even. */
public final class HalfFloats {
    // Java 17 has no Float.float16ToFloat (JDK 20+); a 256 KB table makes the upcast one load per element.
    private static final float[] F16_TABLE = new float[1 << 16];

    static {
        for (int h = 0; h < F16_TABLE.length; h++) {
            F16_TABLE[h] = computeF16ToFloat(h);
        }
    }

    private HalfFloats() {
    }

    /** The fp32 value of the bfloat16 bits in the low 16 bits of {@code bits} (exact). */
    public static float bf16ToFloat(int bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** The bfloat16 bits nearest to {@code x} (ties to even; NaN stays a quiet NaN). */
    public static short floatToBf16(float x) {
        int bits = Float.floatToRawIntBits(x);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int lsb = (bits >>> 16) & 1;
        return (short) ((bits + 0x7fff + lsb) >>> 16);
    }

    /** The fp32 value of the IEEE binary16 bits in the low 16 bits of {@code bits} (exact, incl. subnormals, inf, NaN). */
    public static float f16ToFloat(int bits) {
        return F16_TABLE[bits & 0xffff];
    }

    private static float computeF16ToFloat(int h) {
        int sign = (h >>> 15) & 1;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0) {
            // subnormal: mant × 2^-24, exact in fp32
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        if (exp == 31) {
            return Float.intBitsToFloat((sign << 31) | 0x7f800000 | (mant << 13));
        }
        return Float.intBitsToFloat((sign << 31) | ((exp - 15 + 127) << 23) | (mant << 13));
    }

    /** The IEEE binary16 bits nearest to {@code x} (ties to even; overflow gives infinity; NaN stays a quiet NaN). */
    public static short floatToF16(float x) {
        int bits = Float.floatToRawIntBits(x);
        int sign = (bits >>> 16) & 0x8000;
        int exp = (bits >>> 23) & 0xff;
        int mant = bits & 0x7fffff;
        if (exp == 0xff) {
            return (short) (mant == 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13));
        }
        int e = exp - 127 + 15;
        if (e >= 31) {
            return (short) (sign | 0x7c00);
        }
        if (e >= 1) {
            int q = mant >>> 13;
            int rem = mant & 0x1fff;
            if (rem > 0x1000 || (rem == 0x1000 && (q & 1) == 1)) {
                q++;
            }
            // a carry out of the mantissa correctly bumps the exponent (and 0x7c00 is infinity)
            return (short) (sign | ((e << 10) + q));
        }
        // subnormal result: value / 2^-24 = significand × 2^(exp − 126)
        int shift = 126 - exp;
        if (shift >= 25) {
            return (short) sign; // below half the smallest subnormal
        }
        int sig = mant | 0x800000;
        int q = sig >>> shift;
        int rem = sig & ((1 << shift) - 1);
        int half = 1 << (shift - 1);
        if (rem > half || (rem == half && (q & 1) == 1)) {
            q++;
        }
        return (short) (sign | q);
    }
}
