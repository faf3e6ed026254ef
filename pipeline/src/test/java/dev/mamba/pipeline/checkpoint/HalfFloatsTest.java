package dev.mamba.pipeline.checkpoint;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HalfFloatsTest {
    /** Independent reference: the binary16 value from its fields by the IEEE formula, in double. */
    private static double f16Reference(int h) {
        int sign = (h >>> 15) & 1;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        double v;
        if (exp == 0) {
            v = Math.scalb((double) mant, -24);
        } else if (exp == 31) {
            v = mant == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
        } else {
            v = Math.scalb(1.0 + mant / 1024.0, exp - 15);
        }
        return sign == 1 ? -v : v;
    }

    @Test
    void everyF16UpcastsExactly() {
        for (int h = 0; h < 1 << 16; h++) {
            double ref = f16Reference(h);
            float got = HalfFloats.f16ToFloat(h);
            if (Double.isNaN(ref)) {
                assertTrue(Float.isNaN(got), "bits " + Integer.toHexString(h));
            } else {
                assertEquals(ref, got, 0.0, "bits " + Integer.toHexString(h));
                assertEquals(((h >>> 15) & 1) == 1, (Float.floatToRawIntBits(got) >>> 31) == 1, "sign of " + h);
            }
        }
        assertEquals(0x1p-24f, HalfFloats.f16ToFloat(0x0001)); // smallest subnormal
        assertEquals(0x3ffp-24f, HalfFloats.f16ToFloat(0x03ff)); // largest subnormal
        assertEquals(65504f, HalfFloats.f16ToFloat(0x7bff));
        assertEquals(Float.NEGATIVE_INFINITY, HalfFloats.f16ToFloat(0xfc00));
    }

    @Test
    void everyNonNanF16RoundTripsBitExactly() {
        for (int h = 0; h < 1 << 16; h++) {
            float f = HalfFloats.f16ToFloat(h);
            if (!Float.isNaN(f)) {
                assertEquals(h, HalfFloats.floatToF16(f) & 0xffff, "bits " + Integer.toHexString(h));
            } else {
                assertTrue(Float.isNaN(HalfFloats.f16ToFloat(HalfFloats.floatToF16(f))));
            }
        }
    }

    @Test
    void f16RoundsToNearestEven() {
        // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to the even mantissa (1.0)
        assertEquals(0x3c00, HalfFloats.floatToF16(1f + 0x1p-11f));
        // 1 + 3·2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even)
        assertEquals(0x3c02, HalfFloats.floatToF16(1f + 3 * 0x1p-11f));
        // half the smallest subnormal ties to 0; a bit more rounds up to it
        assertEquals(0x0000, HalfFloats.floatToF16(0x1p-25f));
        assertEquals(0x0001, HalfFloats.floatToF16(Math.nextUp(0x1p-25f)));
        assertEquals(0x8000, HalfFloats.floatToF16(-0x1p-30f) & 0xffff);
        // the subnormal/normal boundary rounds up into the exponent
        assertEquals(0x0400, HalfFloats.floatToF16(0x3ffp-24f + 0x1p-25f + 0x1p-40f));
        assertEquals(0x7bff, HalfFloats.floatToF16(65519f)); // below the midpoint to 65536
        assertEquals(0x7c00, HalfFloats.floatToF16(65520f)); // the midpoint rounds to even = infinity
        assertEquals(0x7c00, HalfFloats.floatToF16(1e10f));
        assertEquals(0xfc00, HalfFloats.floatToF16(Float.NEGATIVE_INFINITY) & 0xffff);
        assertEquals(0x0000, HalfFloats.floatToF16(Float.MIN_VALUE));

        SplittableRandom rnd = new SplittableRandom(7);
        for (int i = 0; i < 200_000; i++) {
            float x = (float) (Math.scalb(rnd.nextDouble(), rnd.nextInt(-30, 17)) * (rnd.nextBoolean() ? 1 : -1));
            int h = HalfFloats.floatToF16(x) & 0xffff;
            double v = f16Reference(h);
            // the neighbours in magnitude must not be closer; on a tie the mantissa is even
            int mag = h & 0x7fff;
            for (int nb : new int[] {mag - 1, mag + 1}) {
                if (nb < 0 || nb > 0x7c00) {
                    continue;
                }
                double w = f16Reference(nb | (h & 0x8000));
                double dv = Math.abs(x - v);
                double dw = Math.abs(x - w);
                assertTrue(dv < dw || (dv == dw && (h & 1) == 0) || Double.isInfinite(v),
                        x + " -> " + Integer.toHexString(h) + " but " + Integer.toHexString(nb) + " is closer");
            }
        }
    }

    @Test
    void bf16IsTheUpperHalfRoundedToNearestEven() {
        assertEquals(1f, HalfFloats.bf16ToFloat(0x3f80));
        assertEquals(-3.140625f, HalfFloats.bf16ToFloat(0xc049));
        assertEquals((short) 0x3f80, HalfFloats.floatToBf16(1f + 0x1p-8f)); // tie, even stays
        assertEquals((short) 0x3f82, HalfFloats.floatToBf16(1f + 3 * 0x1p-8f)); // tie, odd goes up
        assertEquals((short) 0x3f81, HalfFloats.floatToBf16(1f + 0x1p-8f + 0x1p-20f));
        assertEquals((short) 0x7f80, HalfFloats.floatToBf16(Float.MAX_VALUE)); // rounds to infinity
        assertTrue(Float.isNaN(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(Float.NaN))));
        // a NaN whose payload sits only in the low bits must not become infinity
        assertTrue(Float.isNaN(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(Float.intBitsToFloat(0x7f800001)))));
        SplittableRandom rnd = new SplittableRandom(3);
        for (int i = 0; i < 100_000; i++) {
            int bits = rnd.nextInt() & 0xffff;
            float f = HalfFloats.bf16ToFloat(bits);
            if (!Float.isNaN(f)) {
                assertEquals(bits, HalfFloats.floatToBf16(f) & 0xffff);
            }
        }
    }
}
