package dev.mamba.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * exp, softplus and SiLU over float arrays, vectorized with the preferred species from FMAs and exponent
 * bit tricks (the JDK's Math functions are scalar). Accurate to about 1 ulp; see VectorMathTest.
 *
 * <p>Every method takes arrays, never vectors: C2 keeps a vector in registers only when every method it
 * passes through is inlined, and it will not inline a method it has already compiled on its own into
 * more than InlineSmallCode bytes (which happens to any helper that C1-compiled callers invoke often
 * during warm-up). A vector crossing such a call is allocated on the heap, making the loop ~10× slower.
 */
final class VectorMath {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();

    private static final float LOG2E = 1.44269504088896341f;
    /** 1.5·2²³: adding it rounds a float of magnitude < 2²² to an integer held in the low mantissa bits. */
    private static final float ROUNDER = 12582912f;
    private static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);
    /** ln 2 in two parts (Cody–Waite): the high part has 9 bits, so n·LN2_HI is exact for |n| ≤ 256. */
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** Below this exp is 0 in float (under half the smallest subnormal); above the upper bound, ∞. */
    private static final float EXP_LO = -104f;
    private static final float EXP_HI = 89f;
    // Cephes expf: exp(r) ≈ 1 + r + r²·P(r) for |r| ≤ ln2/2.
    private static final float E0 = 1.9875691500e-4f;
    private static final float E1 = 1.3981999507e-3f;
    private static final float E2 = 8.3334519073e-3f;
    private static final float E3 = 4.1665795894e-2f;
    private static final float E4 = 1.6666665459e-1f;
    private static final float E5 = 5.0000001201e-1f;
    // Cephes logf: log(1 + z) ≈ z − z²/2 + z³·Q(z) for z in [√½ − 1, √2 − 1].
    private static final float Q0 = 7.0376836292e-2f;
    private static final float Q1 = -1.1514610310e-1f;
    private static final float Q2 = 1.1676998740e-1f;
    private static final float Q3 = -1.2420140846e-1f;
    private static final float Q4 = 1.4249322787e-1f;
    private static final float Q5 = -1.6668057665e-1f;
    private static final float Q6 = 2.0000714765e-1f;
    private static final float Q7 = -2.4999993993e-1f;
    private static final float Q8 = 3.3333331174e-1f;
    private static final float SQRT2_M1 = 0.41421356237f;
    /** PyTorch's softplus returns x itself above this. */
    static final float SOFTPLUS_THRESHOLD = 20f;

    private VectorMath() {
    }

    /**
     * {@code v[i] = e^v[i]} for i in [from, to): 0 below −104 (exp underflows there), ∞ above 88.72,
     * subnormal results rounded from a normal intermediate, NaN for NaN. A tail shorter than a vector
     * uses Math.exp.
     */
    static void exp(float[] v, int from, int to) {
        int i = from;
        for (; i <= to - L; i += L) {
            FloatVector x = FloatVector.fromArray(S, v, i);
            // Clamp by compare and blend: max/min carry Java's NaN and −0 rules, which cost five
            // instructions each on AVX2; a NaN fails both compares and stays NaN.
            x = x.blend(EXP_LO, x.compare(VectorOperators.LT, EXP_LO));
            x = x.blend(EXP_HI, x.compare(VectorOperators.GT, EXP_HI));
            // n = round(x·log2 e) by the rounder trick; its integer sits in the low bits of t.
            FloatVector t = x.fma(LOG2E, ROUNDER);
            FloatVector n = t.sub(ROUNDER);
            IntVector ni = t.reinterpretAsInts().sub(ROUNDER_BITS);
            FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), x);
            r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
            FloatVector p = r.fma(E0, E1);
            p = p.fma(r, FloatVector.broadcast(S, E2));
            p = p.fma(r, FloatVector.broadcast(S, E3));
            p = p.fma(r, FloatVector.broadcast(S, E4));
            p = p.fma(r, FloatVector.broadcast(S, E5));
            FloatVector y = p.fma(r.mul(r), r).add(1f);
            // Scale by 2^n as 2^(n/2)·2^(n−n/2): each factor stays a normal float for n in [−150, 128],
            // so results near both ends of the range (overflow to ∞, gradual underflow) come out right.
            IntVector n1 = ni.lanewise(VectorOperators.ASHR, 1);
            IntVector n2 = ni.sub(n1);
            FloatVector s1 = n1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            FloatVector s2 = n2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
            y.mul(s1).mul(s2).intoArray(v, i);
        }
        for (; i < to; i++) {
            v[i] = (float) Math.exp(v[i]);
        }
    }

    /**
     * {@code v[i] = softplus(v[i])} for i in [from, to) with PyTorch's threshold 20 (x itself above it,
     * else log(1 + e^x), computed as max(x, 0) + log1p(e^−|x|)); {@code tmp[0, to − from)} is scratch.
     */
    static void softplus(float[] v, int from, int to, float[] tmp) {
        int count = to - from;
        for (int i = 0; i < count; i++) {
            tmp[i] = -Math.abs(v[from + i]);
        }
        exp(tmp, 0, count);
        int i = 0;
        for (; i <= count - L; i += L) {
            FloatVector x = FloatVector.fromArray(S, v, from + i);
            FloatVector y = FloatVector.fromArray(S, tmp, i);
            // log1p(y) for y in [0, 1]: above √2 − 1 use ln 2 + log1p(z) with z = (y − 1)/2, so that z
            // stays in Cephes' range; below it z = y exactly (no rounding of 1 + y).
            VectorMask<Float> big = y.compare(VectorOperators.GT, SQRT2_M1);
            FloatVector z = y.blend(y.fma(0.5f, -0.5f), big);
            FloatVector e = FloatVector.zero(S).blend(1f, big);
            FloatVector z2 = z.mul(z);
            FloatVector q = z.fma(Q0, Q1);
            q = q.fma(z, FloatVector.broadcast(S, Q2));
            q = q.fma(z, FloatVector.broadcast(S, Q3));
            q = q.fma(z, FloatVector.broadcast(S, Q4));
            q = q.fma(z, FloatVector.broadcast(S, Q5));
            q = q.fma(z, FloatVector.broadcast(S, Q6));
            q = q.fma(z, FloatVector.broadcast(S, Q7));
            q = q.fma(z, FloatVector.broadcast(S, Q8));
            FloatVector w = q.mul(z).mul(z2);
            w = e.fma(FloatVector.broadcast(S, LN2_LO), w);
            w = z2.fma(FloatVector.broadcast(S, -0.5f), w);
            FloatVector log1p = e.fma(FloatVector.broadcast(S, LN2_HI), z.add(w));
            FloatVector sp = x.blend(0f, x.compare(VectorOperators.LT, 0f)).add(log1p);
            sp.blend(x, x.compare(VectorOperators.GT, SOFTPLUS_THRESHOLD)).intoArray(v, from + i);
        }
        for (; i < count; i++) {
            v[from + i] = ScanKernel.softplus(v[from + i]);
        }
    }

    /** {@code y[yFrom + i] *= silu(z[zFrom + i])} for i in [0, count); {@code tmp[0, count)} is scratch. */
    static void siluGate(float[] z, int zFrom, float[] y, int yFrom, int count, float[] tmp) {
        for (int i = 0; i < count; i++) {
            tmp[i] = -z[zFrom + i];
        }
        exp(tmp, 0, count);
        int i = 0;
        for (; i <= count - L; i += L) {
            FloatVector zv = FloatVector.fromArray(S, z, zFrom + i);
            FloatVector silu = zv.div(FloatVector.fromArray(S, tmp, i).add(1f));
            FloatVector.fromArray(S, y, yFrom + i).mul(silu).intoArray(y, yFrom + i);
        }
        for (; i < count; i++) {
            y[yFrom + i] *= z[zFrom + i] / (1f + tmp[i]);
        }
    }
}
