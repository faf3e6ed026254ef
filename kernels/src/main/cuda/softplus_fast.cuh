// bf16 softplus on one MUFU op (shared with the CPU emulation in src/test/cuda-emu, which defines its own
// ex2_approx and LOG2E_F before including it).
#pragma once

// Fast variant for bf16 activations, one MUFU op: softplus(x) = max(x, 0) + log1p(t), t = 2^(-|x|·log2 e)
// in (0, 1], log1p(t) = t·q(t) with q a degree-6 fit on [0, 1] (relative error of the log1p part at most
// 2.9e-6 in f32, mean signed 2.5e-8). Until run 29 it was lg2(1 + ex2(x·log2 e))·ln 2, two MUFU ops, with
// relative error ~1e-4 for x << 0; the exp unit is the scan's scarcest (the recurrence's 16 ex2 per (step,
// channel) keep it ~60 % busy), so the polynomial moves that op to the FMA pipe. Large x: t underflows and
// the result is x (PyTorch's threshold 20 gives x there too).
__device__ __forceinline__ float softplus_fast(float x) {
    const float t = ex2_approx(-fabsf(x) * LOG2E_F);
    float q = 0.012965519912540913f;
    q = fmaf(q, t, -0.06274805963039398f);
    q = fmaf(q, t, 0.14490553736686707f);
    q = fmaf(q, t, -0.2326316386461258f);
    q = fmaf(q, t, 0.3304618299007416f);
    q = fmaf(q, t, -0.49980273842811584f);
    q = fmaf(q, t, 0.999997079372406f);
    return fmaxf(x, 0.f) + t * q;
}
