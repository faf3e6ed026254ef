// Shared device helpers for the Mamba kernels: element types, conversions, cp.async, fast math.
//
// Every kernel takes ONE parameter: a struct whose fields are all 64-bit integers (pointers, strides,
// sizes, flags, float bits). The Java side builds the same struct as a long[] (field i at byte 8*i),
// so there is no padding or ordering to get wrong beyond the field order written next to each struct.
#pragma once
#include <cuda_bf16.h>
#include <stdint.h>

typedef long long i64;
typedef __nv_bfloat16 bf16;

#define DEV __device__ __forceinline__

// ------------------------------------------------------------------ element loads and stores

DEV float to_f32(float v) { return v; }
DEV float to_f32(bf16 v) { return __bfloat162float(v); }

template <typename T> DEV T from_f32(float v);
template <> DEV float from_f32<float>(float v) { return v; }
template <> DEV bf16 from_f32<bf16>(float v) { return __float2bfloat16_rn(v); }

template <typename T> DEV float ldf(const T* p) { return to_f32(*p); }

// Read-only global load through the non-coherent path (inputs are never written by the same kernel).
DEV float ldg_f(const float* p) { return __ldg(p); }
DEV float ldg_f(const bf16* p) { return __bfloat162float(__ldg(p)); }

template <typename T> DEV void stf(T* p, float v) { *p = from_f32<T>(v); }

template <typename T> DEV const T* cptr(i64 a) { return reinterpret_cast<const T*>(a); }
template <typename T> DEV T* mptr(i64 a) { return reinterpret_cast<T*>(a); }

DEV float bits_f32(i64 b) { return __int_as_float((int)b); }

// ------------------------------------------------------------------ cp.async (sm_80+)

DEV uint32_t smem_u32(const void* p) { return (uint32_t)__cvta_generic_to_shared(p); }

// 16-byte async copy global -> shared; bytes in [0,16] are read, the rest of the 16 is zero-filled.
DEV void cp_async16(void* smem, const void* gmem, int bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_u32(smem)), "l"(gmem), "r"(bytes));
}
// Named barriers 1..15 (barrier 0 is __syncthreads) with a thread count (a multiple of 32, whole warps):
// producer warps arrive without waiting, consumer warps wait until the count has arrived. Memory
// accesses before the arrive are visible to the waiting threads after the wait (PTX ISA, bar.arrive).
// Immediate ids: a barrier id in a register makes ptxas reserve all 16 barriers of the block.
template <int ID> DEV void named_sync(int threads) { asm volatile("bar.sync %0, %1;" ::"n"(ID), "r"(threads) : "memory"); }
template <int ID> DEV void named_arrive(int threads) { asm volatile("bar.arrive %0, %1;" ::"n"(ID), "r"(threads) : "memory"); }
// Register reallocation between warpgroups (setmaxnreg, sm_90a only: instantiated by kernels of the sm_90a
// module alone). All 128 threads of a warpgroup run it; dec hands registers back to the block's pool, inc
// waits until the pool has them.
template <int R> DEV void regs_dec() { asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(R)); }
template <int R> DEV void regs_inc() { asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(R)); }
DEV void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> DEV void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N)); }

// ------------------------------------------------------------------ math

// 2^x with the MUFU unit; ftz: results below 2^-126 become 0 (only ever multiplied into a state).
DEV float ex2_approx(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}
// f32 -> nearest tf32 (ties away from zero) kept in f32 storage: what the TF32 GEMMs do to their operands.
// Kernels whose output only feeds TF32 GEMMs store it rounded, so the GEMM can skip its rounding pass.
DEV float round_tf32(float v) {
    uint32_t r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(v));
    return __uint_as_float(r);
}
DEV float tanh_approx(float x) {
    float y;
    asm("tanh.approx.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
}

#define LOG2E_F 1.4426950408889634f

#include "exp2_fma.cuh"

// PyTorch's softplus with threshold 20; accurate (log1pf/expf) for the fp32 path.
DEV float softplus_exact(float x) { return x > 20.f ? x : log1pf(expf(x)); }
#include "softplus_fast.cuh"

DEV float silu_exact(float v) { return v / (1.f + expf(-v)); }
// The scan's fp32 versions: __expf (ex2.approx, ~2 ulp over the range that matters here) and a fast
// division cost ~1/3 of the accurate ones, and their error (~3e-7 relative) is far below what FP32 mode
// allows (1e-5); the scan issues these once per (step, channel), next to 16 states' recurrence.
DEV float softplus_f32(float x) { return x > 20.f ? x : log1pf(__expf(x)); }
DEV float silu_f32(float v) { return __fdividef(v, 1.f + __expf(-v)); }
// silu(v) = v * sigmoid(v) = v * (0.5 + 0.5 tanh(v/2)): one MUFU op; rel. error ~5e-4 (bf16 path only).
DEV float silu_fast(float v) { return v * fmaf(0.5f, tanh_approx(0.5f * v), 0.5f); }

// ------------------------------------------------------------------ reductions

DEV float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
DEV double warp_sum(double v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
DEV float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

DEV i64 imin64(i64 a, i64 b) { return a < b ? a : b; }
DEV int imin(int a, int b) { return a < b ? a : b; }
DEV int imax(int a, int b) { return a > b ? a : b; }
