// One problem for the emulated GEMM kernels (gemm_emu.cpp, wgmma_emu.cpp): random inputs kept as f32 and
// bf16, the double-precision reference on the values the kernel multiplies, the gemm::P pointing at them,
// and the relative error of what the kernel wrote. Needs gemm::to_tf32 (emu_mma_ops.cuh) included first.
#pragma once
#include <cmath>
#include <cstring>
#include <vector>

static float tf32r(float f) { uint32_t u; memcpy(&u, &f, 4); u = gemm::to_tf32(u); memcpy(&f, &u, 4); return f; }

// What the kernel multiplies: f32 as is (FFMA), f32 rounded to tf32, or the bf16 copies.
enum class GemmIn { F32, TF32, BF16 };

struct GemmProblem {
    const int M, N, K, xoff, ldx;
    const bool outBf16;
    std::vector<float> x, w, bs, o0, of, ref;
    std::vector<bf16> xb, wb, ob;
    gemm::P p{};

    // gauss: the caller's generator (drawn for x, w, bias, old output, in that order). wPre / xPre: w / x
    // already hold tf32 values (rounded at upload / by the kernel that wrote them); p.wTf32 / p.xTf32 say so.
    GemmProblem(GemmIn in, int M_, int N_, int K_, int xoff_, int pad, bool bias, bool acc, bool outBf16_,
                float (*gauss)(), bool wPre = false, bool xPre = false)
        : M(M_), N(N_), K(K_), xoff(xoff_), ldx(K_ + xoff_ + pad), outBf16(outBf16_),
          x(M_ * (K_ + xoff_ + pad)), w(N_ * K_), bs(N_), o0(M_ * N_), ref(M_ * N_) {
        for (auto& v : x) v = gauss();
        // x's row padding (before xoff, past K) is NaN: a loader that reads past an edge and relies on the
        // other operand's zeros still fails (NaN · 0 = NaN)
        for (int r = 0; r < M; ++r)
            for (int c = 0; c < ldx; ++c)
                if (c < xoff || c >= xoff + K) x[r * ldx + c] = NAN;
        for (auto& v : w) v = gauss();
        if (wPre) for (auto& v : w) v = tf32r(v);
        if (xPre) for (auto& v : x) v = tf32r(v);
        for (auto& v : bs) v = gauss();
        for (auto& v : o0) v = gauss();
        xb.resize(x.size()); wb.resize(w.size()); ob.resize(o0.size());
        for (size_t i = 0; i < x.size(); ++i) xb[i] = from_f32<bf16>(x[i]);
        for (size_t i = 0; i < w.size(); ++i) wb[i] = from_f32<bf16>(w[i]);
        for (size_t i = 0; i < o0.size(); ++i) ob[i] = from_f32<bf16>(o0[i]);
        of = o0;
        const bool bfin = in == GemmIn::BF16;
        auto val = [&](float v, bf16 b) { return bfin ? to_f32(b) : in == GemmIn::TF32 ? tf32r(v) : v; };
        for (int r = 0; r < M; ++r)
            for (int n = 0; n < N; ++n) {
                double s = 0;
                for (int k = 0; k < K; ++k)
                    s += (double)val(x[r * ldx + xoff + k], xb[r * ldx + xoff + k]) * val(w[n * K + k], wb[n * K + k]);
                if (bias) s += bs[n];
                if (acc) s += outBf16 ? to_f32(ob[r * N + n]) : o0[r * N + n];
                ref[r * N + n] = (float)s;
            }
        auto addr = [](const void* q) { return (i64)(uintptr_t)q; };
        const void* xp = bfin ? (const void*)(xb.data() + xoff) : (const void*)(x.data() + xoff);
        const void* wp = bfin ? (const void*)wb.data() : (const void*)w.data();
        const int eb = bfin ? 2 : 4;
        p.x = addr(xp); p.w = addr(wp); p.bias = bias ? addr(bs.data()) : 0;
        p.out = outBf16 ? addr(ob.data()) : addr(of.data());
        p.ldx = ldx; p.ldw = K; p.ldout = N; p.M = M; p.N = N; p.K = K; p.accumulate = acc;
        p.vecX = ((uintptr_t)xp % 16 == 0) && ((long)ldx * eb % 16 == 0);
        p.vecW = ((uintptr_t)wp % 16 == 0) && ((long)K * eb % 16 == 0);
        p.vecOut = (N % 2 == 0); p.outBf16 = outBf16; p.wTf32 = wPre; p.xTf32 = xPre;
    }

    // ‖out − ref‖ / ‖ref‖ over what the kernel wrote
    double relError() const {
        double num = 0, den = 0;
        for (int i = 0; i < M * N; ++i) {
            const double got = outBf16 ? to_f32(ob[i]) : of[i];
            const double e = got - ref[i];
            num += e * e;
            den += (double)ref[i] * ref[i];
        }
        return std::sqrt(num / den);
    }
};
