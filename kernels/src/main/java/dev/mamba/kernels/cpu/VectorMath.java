package dev.mamba.kernels.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * exp, log1p, softplus and SiLU on float vectors of the preferred species, built from FMAs and exponent
 * bit tricks (the JDK's Math functions are scalar). Accurate to about 1 ulp; see VectorMathTest.
 */
final class VectorMath {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private static final float LOG2E = 1.44269504088896341f;
    /** 1.5·2²³: adding it rounds a float of magnitude < 2²² to an integer held in the low mantissa bits. */
    private static final float ROUNDER = 12582912f;
    private static final int ROUNDER_BITS = Float.floatToRawIntBits(ROUNDER);
    /** ln 2 in two parts (Cody–Waite): the high part has 9 bits, so n·LN2_HI is exact for |n| ≤ 256. */
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** Below this exp is 0 in float (it is under half the smallest subnormal); above the upper bound, ∞. */
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
     * e^x lane by lane: 0 below −104 (exp underflows there), ∞ above 88.72, subnormal results rounded
     * from a normal intermediate, NaN for NaN.
     */
    static FloatVector exp(FloatVector x) {
        FloatVector xc = x.max(EXP_LO).min(EXP_HI);
        // n = round(x·log2 e) by the rounder trick; its integer sits in the low bits of t.
        FloatVector t = xc.fma(LOG2E, ROUNDER);
        FloatVector n = t.sub(ROUNDER);
        IntVector ni = t.reinterpretAsInts().sub(ROUNDER_BITS);
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), xc);
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
        return y.mul(s1).mul(s2);
    }

    /** log(1 + y) for y in [0, 1] (what softplus needs), about 1 ulp. */
    static FloatVector log1pUnit(FloatVector y) {
        // Above √2 − 1 use log(1 + y) = ln 2 + log(1 + z) with z = (y − 1)/2, keeping z in Cephes' range.
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
        return e.fma(FloatVector.broadcast(S, LN2_HI), z.add(w));
    }

    /** PyTorch's softplus (threshold 20): x above it, else log(1 + e^x), computed as max(x, 0) + log1p(e^−|x|). */
    static FloatVector softplus(FloatVector x) {
        FloatVector sp = x.max(0f).add(log1pUnit(exp(x.abs().neg())));
        return sp.blend(x, x.compare(VectorOperators.GT, SOFTPLUS_THRESHOLD));
    }

    /** x·sigmoid(x) = x / (1 + e^−x). */
    static FloatVector silu(FloatVector x) {
        return x.div(exp(x.neg()).add(1f));
    }
}
