// Parameter struct, epilogue and swizzled tile loader shared by the mma.sync (gemm.cu) and wgmma
// (wgmma.cu) GEMMs.
#pragma once
#include "common.cuh"
#include "mma_ops.cuh"

namespace gemm {

// Field order must match CudaGemm.java.
struct P {
    i64 x, w, bias, out;      // 0..3 element addresses (bias may be 0)
    i64 ldx, ldw, ldout;      // 4..6 row strides in elements
    i64 M, N, K;              // 7..9
    i64 accumulate;           // 10
    i64 vecX, vecW;           // 11..12 16-byte loads legal (base and row stride 16-byte aligned)
    i64 vecOut;               // 13 paired stores legal (base and row stride 2-element aligned)
    i64 outBf16;              // 14 output element type: 0 = f32, 1 = bf16
    i64 wTf32;                // 15 tf32 kernels: w already holds tf32-rounded values (rounded once at upload)
    i64 xTf32;                // 16 tf32 kernels: x already holds tf32-rounded values (its producer rounded them)
    i64 act;                  // 17 epilogue after the bias: 0 none, 1 softplus (dt_proj writing the scan's δ)
};

// ------------------------------------------------------------------ epilogue helpers

// P.act after the bias: 1 = the scan's own softplus of (dt + bias), fast for bf16 outputs, exact-ish for f32
// (store_pair here, and the wgmma kernels' staged stores).
template <typename To>
DEV float epilogue_act(i64 act, float v) {
    return act == 1 ? (sizeof(To) == 2 ? softplus_fast(v) : softplus_f32(v)) : v;
}

template <typename To>
DEV void store_pair(const P& p, To* out, i64 row, int col, float v0, float v1) {
    if (row >= p.M || col >= p.N) return;
    const float* bias = cptr<float>(p.bias);
    To* o = out + row * p.ldout + col;
    const bool both = col + 1 < p.N;
    if (bias) {
        v0 += bias[col];
        if (both) v1 += bias[col + 1];
    }
    v0 = epilogue_act<To>(p.act, v0);
    v1 = epilogue_act<To>(p.act, v1);
    if (both && p.vecOut) {
        if constexpr (sizeof(To) == 4) {
            float2* q = reinterpret_cast<float2*>(o);
            if (p.accumulate) { float2 old = *q; v0 = old.x + v0; v1 = old.y + v1; }
            *q = make_float2(v0, v1);
        } else {
            __nv_bfloat162* q = reinterpret_cast<__nv_bfloat162*>(o);
            if (p.accumulate) { float2 old = __bfloat1622float2(*q); v0 = old.x + v0; v1 = old.y + v1; }
            *q = __floats2bfloat162_rn(v0, v1);
        }
    } else {
        if (p.accumulate) v0 = ldf(o) + v0;
        o[0] = from_f32<To>(v0);
        if (both) {
            if (p.accumulate) v1 = ldf(o + 1) + v1;
            o[1] = from_f32<To>(v1);
        }
    }
}

// Output type is a runtime flag (uniform branch) rather than a template: halves the kernels to compile.
DEV void store_pair_any(const P& p, i64 row, int col, float v0, float v1) {
    if (p.outBf16) store_pair<bf16>(p, mptr<bf16>(p.out), row, col, v0, v1);
    else store_pair<float>(p, mptr<float>(p.out), row, col, v0, v1);
}

// ------------------------------------------------------------------ tensor-core GEMM (mma.sync)

// Byte offset of 16-byte chunk c of row r in a tile of 128-byte rows, XOR-swizzled.
DEV uint32_t swz(int r, int c) { return (uint32_t)(r * 128 + ((c ^ (r & 7)) << 4)); }

// Loads rows [0, ROWS) x one BK slab of a K-contiguous operand into a swizzled smem tile; THREADS
// threads share the work, this one is number tid.
template <typename Ti, int ROWS, int THREADS>
DEV void load_slab(unsigned char* tile, const Ti* g, i64 ld, i64 rowsLeft, i64 kLeft, bool vec, int tid) {
    constexpr int E = 16 / sizeof(Ti);  // elements per chunk
    static_assert(THREADS % 64 == 0, "a thread's rows must step by a multiple of 8 (fixed swizzle)");
    if (vec) {
        // 16-byte-aligned operand: a thread's chunks are rows r0, r0 + THREADS/8, ... at one chunk column c,
        // so the swizzled destination only moves by whole 8-row groups, the source by a fixed row step, and
        // the chunk's byte count (16, part of a K edge, or 0) is the same for all of them: ~4 instructions per
        // 16-byte copy in the interior, ~6 on an edge, instead of ~25 with per-chunk bounds logic. (The
        // producer warp of the wgmma kernels issues every copy of a stage; at ~25 instructions each it
        // needed about as long as the tensor cores take for an interior stage, and edge slabs are the whole
        // of the skinny GEMMs: x_proj's w has N = 80 of 128 rows, dt_proj's K = 48 of 64 columns.)
        const int r0 = tid >> 3, c = tid & 7;
        unsigned char* dst = tile + swz(r0, c);
        const Ti* src = g + (i64)r0 * ld + c * E;
        const i64 step = (i64)(THREADS / 8) * ld;
        const i64 kl = kLeft - (i64)c * E;  // elements left in this thread's rows from its chunk on
        const int bytes = kl >= E ? 16 : (kl <= 0 ? 0 : (int)kl * (int)sizeof(Ti));
        if (rowsLeft >= ROWS && bytes == 16) {
#pragma unroll
            for (int q = 0; q < ROWS * 8 / THREADS; ++q) {
                cp_async16(dst + q * (THREADS / 8) * 128, src, 16);
                src += step;
            }
            return;
        }
        // Edge slab: chunks past the K edge or below the last row are zero-filled (src-size 0: nothing is
        // read, so the source passed is the slab's own first element, always mapped).
        const i64 rl = rowsLeft - r0;  // this thread's rows q * THREADS/8 < rl exist
#pragma unroll
        for (int q = 0; q < ROWS * 8 / THREADS; ++q) {
            const bool in = (i64)q * (THREADS / 8) < rl && bytes != 0;
            cp_async16(dst + q * (THREADS / 8) * 128, in ? src : g, in ? bytes : 0);
            src += step;
        }
        return;
    }
#pragma unroll
    for (int i = tid; i < ROWS * 8; i += THREADS) {
        const int r = i >> 3, c = i & 7;
        unsigned char* dst = tile + swz(r, c);
        const i64 kl = kLeft - (i64)c * E;  // elements left in this row from this chunk on
        __align__(16) Ti v[E];  // unaligned operand: element loads, zero past the edges
#pragma unroll
        for (int e = 0; e < E; ++e)
            v[e] = (r < rowsLeft && e < kl) ? g[(i64)r * ld + c * E + e] : from_f32<Ti>(0.f);
        *reinterpret_cast<uint4*>(dst) = *reinterpret_cast<const uint4*>(v);
    }
}

template <typename Ti, int ROWS, int THREADS>
DEV void load_slab(unsigned char* tile, const Ti* g, i64 ld, i64 rowsLeft, i64 kLeft, bool vec) {
    load_slab<Ti, ROWS, THREADS>(tile, g, ld, rowsLeft, kLeft, vec, (int)threadIdx.x);
}

}  // namespace gemm
