// Depthwise causal conv1d + bias + SiLU continuing from a carried window (Mamba's conv before the scan).
//
// The convolution is not recurrent: out[t] depends only on inputs, so every (lane, channel, chunk of TC
// steps) is independent. A thread walks its chunk sequentially with the K-1 previous inputs in registers
// (warp = 32 consecutive channels: every load and store is coalesced along the channel dimension).
// The chunk-0 thread of a (lane, channel) is the only one that reads the old state, and it alone writes
// the new state (the last K-1 entries of state ++ x[0..len)) after its own loop, so there is no race.
#include "common.cuh"
#include "pairs.cuh"
#include "conv_state.cuh"

namespace conv {

constexpr int TC = 64;  // steps per thread; must be >= K-1 (the host limits K to 16)

// Field order must match CudaBackend.java (conv1dSilu).
struct P {
    i64 x, w, bias, state, lens, out;         // 0..5 (bias may be 0)
    i64 ldx, ldw, ldstate, ldlens, ldout;     // 6..10
    i64 T, D, K;                              // 11..13
};

// KT > 0: K fixed at compile time; KT == 0: runtime K <= 16. CP channels per thread: 1, or 2 (adjacent
// channels, 2-element aligned x and out: one 4-byte bf16 pair or 8-byte f32 pair per load and store, so a
// warp's access is a whole 128-byte line in bf16; with one channel a bf16 warp load moved 64 bytes and the
// bf16 kernel ran at 2.4 TB/s effective, H200 run 33).
template <typename T, int KT, int CP = 1>
DEV void conv_kernel(const P& p) {
    static_assert(CP == 1 || CP == 2, "one or two channels per thread");
    constexpr int KM = KT > 0 ? KT : 16;
    const int K = KT > 0 ? KT : (int)p.K;
    const int D = (int)p.D, Tn = (int)p.T;
    const int d = (blockIdx.x * 32 + (threadIdx.x & 31)) * CP;
    const int chunk = blockIdx.y * (blockDim.x >> 5) + (threadIdx.x >> 5);
    const int b = blockIdx.z;
    if (d >= D) return;  // CP = 2: D is even (the host checks), so d + 1 < D too
    int len = cptr<int>(p.lens)[(i64)b * p.ldlens];
    len = len < 0 ? 0 : (len > Tn ? Tn : len);
    const int t0 = chunk * TC;
    if (t0 >= len && chunk != 0) return;

    // Weights right-aligned in KM taps (zeros in front) so every register index is static for runtime K:
    // win[c][j] = input of channel d + c at step t0 - (KM-1) + j for j < KM-1 (taps j < KM-K are unused, 0).
    float wp[CP][KM], win[CP][KM], bias[CP];
#pragma unroll
    for (int c = 0; c < CP; ++c) {
        const float* wr = cptr<float>(p.w) + (i64)(d + c) * p.ldw;
#pragma unroll
        for (int j = 0; j < KM; ++j) wp[c][j] = j >= KM - K ? wr[j - (KM - K)] : 0.f;
        bias[c] = p.bias ? cptr<float>(p.bias)[d + c] : 0.f;
    }
    const T* x = cptr<T>(p.x) + (i64)b * Tn * p.ldx + d;
    float* st = mptr<float>(p.state) + (i64)b * p.ldstate + (i64)d * (K - 1);  // channel c's at + c * (K - 1)
    // the CP inputs of a step (one pair load for CP = 2)
    auto load = [](const T* q, float (&v)[CP]) {
        if constexpr (CP == 2) {
            const float2 f = ld2f(q);
            v[0] = f.x;
            v[CP - 1] = f.y;
        } else {
            v[0] = ldf(q);
        }
    };
#pragma unroll
    for (int j = 0; j < KM - 1; ++j) {
#pragma unroll
        for (int c = 0; c < CP; ++c) win[c][j] = 0.f;
        if (j >= KM - K) {
            const int t = t0 - (KM - 1) + j;  // >= t0 - (K-1); < 0 only for chunk 0 (TC >= K-1)
            if (t < 0) {
#pragma unroll
                for (int c = 0; c < CP; ++c) win[c][j] = st[c * (K - 1) + (K - 1) + t];
            } else {
                float v[CP];
                load(x + (i64)t * p.ldx, v);
#pragma unroll
                for (int c = 0; c < CP; ++c) win[c][j] = v[c];
            }
        }
    }
    const int t1 = imin(t0 + TC, len);
    // walking pointers: no 64-bit row products per step
    const T* xp = x + (i64)t0 * p.ldx;
    T* op = mptr<T>(p.out) + ((i64)b * Tn + t0) * p.ldout + d;
    const i64 ldx = p.ldx, ldo = p.ldout;
    auto one = [&](const float (&xv)[CP], T* o) {
        float y[CP];
#pragma unroll
        for (int c = 0; c < CP; ++c) {
            float acc = bias[c];  // same summation order as the CPU: bias, then taps oldest first
#pragma unroll
            for (int j = 0; j < KM - 1; ++j) acc = fmaf(wp[c][j], win[c][j], acc);
            acc = fmaf(wp[c][KM - 1], xv[c], acc);
            y[c] = silu_f32(acc);
#pragma unroll
            for (int j = 0; j + 1 < KM - 1; ++j) win[c][j] = win[c][j + 1];
            if (KM >= 2) win[c][KM >= 2 ? KM - 2 : 0] = xv[c];
        }
        if constexpr (CP == 2) st2f(o, y[0], y[CP - 1]);
        else *o = from_f32<T>(y[0]);
    };
    // Eight inputs are loaded before any output is stored: the compiler cannot move a load above a store
    // through another pointer, so the plain loop kept one load in flight per thread (latency-bound).
    constexpr int U = 8;
    int t = t0;
    for (; t + U <= t1; t += U, xp += U * ldx, op += U * ldo) {
        float xs[U][CP];
#pragma unroll
        for (int q = 0; q < U; ++q) load(xp + q * ldx, xs[q]);
#pragma unroll
        for (int q = 0; q < U; ++q) one(xs[q], op + q * ldo);
    }
    for (; t < t1; ++t, xp += ldx, op += ldo) {
        float v[CP];
        load(xp, v);
        one(v, op);
    }
    if (chunk == 0 && K > 1) {
        // old state values are in st (unchanged so far)
#pragma unroll
        for (int c = 0; c < CP; ++c) conv_roll_state<T, KM>(st + c * (K - 1), x + c, p.ldx, len, K);
    }
}

}  // namespace conv

#define CONV_KERNEL(TN, T, KT)                                                                          \
    extern "C" __global__ void __launch_bounds__(128) mamba_conv1d_##TN##_k##KT(const conv::P p) {         \
        conv::conv_kernel<T, KT>(p);                                                                    \
    }                                                                                                   \
    extern "C" __global__ void __launch_bounds__(128) mamba_conv1d_##TN##_k##KT##_c2(const conv::P p) {    \
        conv::conv_kernel<T, KT, 2>(p);                                                                 \
    }
CONV_KERNEL(f32, float, 2)
CONV_KERNEL(f32, float, 3)
CONV_KERNEL(f32, float, 4)
CONV_KERNEL(f32, float, 0)
CONV_KERNEL(bf16, bf16, 2)
CONV_KERNEL(bf16, bf16, 3)
CONV_KERNEL(bf16, bf16, 4)
CONV_KERNEL(bf16, bf16, 0)
