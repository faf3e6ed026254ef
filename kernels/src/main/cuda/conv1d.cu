// Depthwise causal conv1d + bias + SiLU continuing from a carried window (Mamba's conv before the scan).
//
// The convolution is not recurrent: out[t] depends only on inputs, so every (lane, channel, chunk of TC
// steps) is independent. A thread walks its chunk sequentially with the K-1 previous inputs in registers
// (warp = 32 consecutive channels: every load and store is coalesced along the channel dimension).
// The chunk-0 thread of a (lane, channel) is the only one that reads the old state, and it alone writes
// the new state (the last K-1 entries of state ++ x[0..len)) after its own loop, so there is no race.
#include "common.cuh"

namespace conv {

constexpr int TC = 64;  // steps per thread; must be >= K-1 (the host limits K to 16)

// Field order must match CudaBackend.java (conv1dSilu).
struct P {
    i64 x, w, bias, state, lens, out;         // 0..5 (bias may be 0)
    i64 ldx, ldw, ldstate, ldlens, ldout;     // 6..10
    i64 T, D, K;                              // 11..13
};

// KT > 0: K fixed at compile time; KT == 0: runtime K <= 16.
template <typename T, int KT>
DEV void conv_kernel(const P& p) {
    constexpr int KM = KT > 0 ? KT : 16;
    const int K = KT > 0 ? KT : (int)p.K;
    const int D = (int)p.D, Tn = (int)p.T;
    const int d = blockIdx.x * 32 + (threadIdx.x & 31);
    const int chunk = blockIdx.y * (blockDim.x >> 5) + (threadIdx.x >> 5);
    const int b = blockIdx.z;
    if (d >= D) return;
    int len = cptr<int>(p.lens)[(i64)b * p.ldlens];
    len = len < 0 ? 0 : (len > Tn ? Tn : len);
    const int t0 = chunk * TC;
    if (t0 >= len && chunk != 0) return;

    // Weights right-aligned in KM taps (zeros in front) so every register index is static for runtime K:
    // win[j] = input at step t0 - (KM-1) + j for j < KM-1 (taps j < KM-K are unused and kept at 0).
    float wp[KM], win[KM];
    const float* wr = cptr<float>(p.w) + (i64)d * p.ldw;
#pragma unroll
    for (int j = 0; j < KM; ++j) wp[j] = j >= KM - K ? wr[j - (KM - K)] : 0.f;
    const float bias = p.bias ? cptr<float>(p.bias)[d] : 0.f;
    const T* x = cptr<T>(p.x) + (i64)b * Tn * p.ldx + d;
    float* st = mptr<float>(p.state) + (i64)b * p.ldstate + (i64)d * (K - 1);
#pragma unroll
    for (int j = 0; j < KM - 1; ++j) {
        win[j] = 0.f;
        if (j >= KM - K) {
            const int t = t0 - (KM - 1) + j;  // >= t0 - (K-1); < 0 only for chunk 0 (TC >= K-1)
            win[j] = t < 0 ? st[(K - 1) + t] : ldf(x + (i64)t * p.ldx);
        }
    }
    const int t1 = imin(t0 + TC, len);
    // walking pointers: no 64-bit row products per step
    const T* xp = x + (i64)t0 * p.ldx;
    T* op = mptr<T>(p.out) + ((i64)b * Tn + t0) * p.ldout + d;
    const i64 ldx = p.ldx, ldo = p.ldout;
    auto one = [&](float xv, T* o) {
        float acc = bias;  // same summation order as the CPU: bias, then taps oldest first
#pragma unroll
        for (int j = 0; j < KM - 1; ++j) acc = fmaf(wp[j], win[j], acc);
        acc = fmaf(wp[KM - 1], xv, acc);
        *o = from_f32<T>(silu_f32(acc));
#pragma unroll
        for (int j = 0; j + 1 < KM - 1; ++j) win[j] = win[j + 1];
        if (KM >= 2) win[KM >= 2 ? KM - 2 : 0] = xv;
    };
    // Eight inputs are loaded before any output is stored: the compiler cannot move a load above a store
    // through another pointer, so the plain loop kept one load in flight per thread (latency-bound).
    constexpr int U = 8;
    int t = t0;
    for (; t + U <= t1; t += U, xp += U * ldx, op += U * ldo) {
        float xs[U];
#pragma unroll
        for (int q = 0; q < U; ++q) xs[q] = ldf(xp + q * ldx);
#pragma unroll
        for (int q = 0; q < U; ++q) one(xs[q], op + q * ldo);
    }
    for (; t < t1; ++t, xp += ldx, op += ldo) one(ldf(xp), op);
    if (chunk == 0 && K > 1) {
        // new state[j] = W[len + j] with W = old state ++ x; old state values are in st (unchanged so far)
        float ns[KM];
#pragma unroll
        for (int j = 0; j < KM - 1; ++j) {
            if (j < K - 1) {
                int q = len + j;  // index into W
                ns[j] = q < K - 1 ? st[q] : ldf(x + (i64)(q - (K - 1)) * p.ldx);
            }
        }
#pragma unroll
        for (int j = 0; j < KM - 1; ++j)
            if (j < K - 1) st[j] = ns[j];
    }
}

}  // namespace conv

#define CONV_KERNEL(TN, T, KT)                                                                  \
    extern "C" __global__ void __launch_bounds__(128) mamba_conv1d_##TN##_k##KT(const conv::P p) { \
        conv::conv_kernel<T, KT>(p);                                                            \
    }
CONV_KERNEL(f32, float, 2)
CONV_KERNEL(f32, float, 3)
CONV_KERNEL(f32, float, 4)
CONV_KERNEL(f32, float, 0)
CONV_KERNEL(bf16, bf16, 2)
CONV_KERNEL(bf16, bf16, 3)
CONV_KERNEL(bf16, bf16, 4)
CONV_KERNEL(bf16, bf16, 0)
