// Unbiased single-precision 2^x on the FMA pipe (shared with the CPU emulation in src/test/cuda-emu).
#pragma once

// 2^x on the FMA pipe: round-to-nearest split x = j + f (|f| <= 1/2), degree-6 minimax polynomial for
// 2^f (approximation error 1.9e-9), 2^j added to the exponent bits. Max error 0.93 ulp with no measurable
// bias (mean signed error 0.01 ulp over [-40, 0]); x is clamped at -125 (tinier results stay ~2^-125). ~13
// instructions, no MUFU. Used where ex2.approx's possible bias matters: the scan's recurrence multiplies
// hundreds of these factors, so a 1-ulp bias becomes a ~1e-5 error in the state (FP32 mode).
__device__ __forceinline__ float exp2_fma(float x) {
    x = fmaxf(x, -125.f);
    const float t = x + 12582912.f;  // 1.5 * 2^23: the integer part lands in the low mantissa bits
    const float f = x - (t - 12582912.f);
    float p = 1.5345760039053857e-04f;
    p = fmaf(p, f, 1.339991227723658e-03f);
    p = fmaf(p, f, 9.618489071726799e-03f);
    p = fmaf(p, f, 5.550328642129898e-02f);
    p = fmaf(p, f, 2.4022646248340607e-01f);
    p = fmaf(p, f, 6.931471824645996e-01f);
    p = fmaf(p, f, 1.0f);
    const int j = __float_as_int(t) - 0x4B400000;
    return __int_as_float(__float_as_int(p) + (j << 23));
}
