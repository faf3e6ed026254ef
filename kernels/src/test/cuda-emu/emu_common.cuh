// Host emulation of common.cuh: lets the real scan.cu / conv1d.cu run as C++ with one std::thread per CUDA thread.
#pragma once
#include <cstdint>
#include <cstring>
#include <vector>
#include <cmath>
#include <cstdlib>
#include <barrier>
#include <memory>
#include <functional>
typedef long long i64;
struct bf16 { uint16_t b; };
struct float4 { float x, y, z, w; };
struct float2 { float x, y; };
struct uint4 { uint32_t x, y, z, w; };
struct uint2 { uint32_t x, y; };
struct dim3e { unsigned x, y, z; };
extern thread_local dim3e threadIdx, blockIdx, blockDim;
extern thread_local unsigned char* emu_smem;
extern std::barrier<>* emu_bar;
#define DEV inline
#define __device__
#define __global__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __syncthreads() emu_bar->arrive_and_wait()
#include <atomic>
// One block runs at a time: a single counter of false predicates, reset by thread 0 after everyone read it
// (the next call's first barrier waits for thread 0, so the reset happens before any new count).
inline int __syncthreads_and(int pred) {
    static std::atomic<int> falses{0};
    emu_bar->arrive_and_wait();
    if (!pred) falses.fetch_add(1);
    emu_bar->arrive_and_wait();
    const int all = falses.load() == 0;
    emu_bar->arrive_and_wait();
    if (threadIdx.x == 0) falses.store(0);
    return all;
}
#define __trap() abort()
#include <mutex>
#include <condition_variable>
// Named barriers (bar.sync / bar.arrive with a thread count; one block runs at a time): a phase completes
// when `n` threads arrived, arrivers go on, syncers wait for the phase to complete. A thread counts 1 here
// where the hardware counts its warp's 32: the kernels use them with whole warps only.
struct EmuNamedBar { std::mutex m; std::condition_variable cv; int count = 0; unsigned long gen = 0; };
inline EmuNamedBar emu_named[16];
inline void emu_named_bar(int id, int n, bool wait) {
    EmuNamedBar& b = emu_named[id];
    std::unique_lock<std::mutex> l(b.m);
    const unsigned long g = b.gen;
    if (++b.count == n) { b.count = 0; b.gen++; b.cv.notify_all(); return; }
    if (b.count > n) abort();
    if (wait) b.cv.wait(l, [&] { return b.gen != g; });
}
template <int ID> inline void named_sync(int n) { emu_named_bar(ID, n, true); }
template <int ID> inline void named_arrive(int n) { emu_named_bar(ID, n, false); }
// setmaxnreg has nothing to emulate (registers are the host's)
template <int R> inline void regs_dec() {}
template <int R> inline void regs_inc() {}
inline float bf2f(uint16_t h) { uint32_t u = (uint32_t)h << 16; float f; memcpy(&f, &u, 4); return f; }
inline uint16_t f2bf(float f) { uint32_t u; memcpy(&u, &f, 4); if ((u & 0x7fffffff) > 0x7f800000) return (u >> 16) | 0x40; u += 0x7fff + ((u >> 16) & 1); return u >> 16; }
DEV float to_f32(float v) { return v; }
DEV float to_f32(bf16 v) { return bf2f(v.b); }
template <typename T> DEV T from_f32(float v);
template <> DEV float from_f32<float>(float v) { return v; }
template <> DEV bf16 from_f32<bf16>(float v) { return bf16{f2bf(v)}; }
template <typename T> DEV float ldf(const T* p) { return to_f32(*p); }
template <typename T> DEV const T* cptr(i64 a) { return reinterpret_cast<const T*>(a); }
template <typename T> DEV T* mptr(i64 a) { return reinterpret_cast<T*>(a); }
// cp.async as the PTX ISA orders it: the source is read at issue, but shared memory is written only when a
// cp.async.wait_group retires the copy's committed group. A stage used (or signalled to other warps) before
// its group was waited for then holds stale data (0xCD / NaN fill) and fails the case.
struct EmuCopy { void* dst; unsigned char data[16]; };
inline thread_local std::vector<std::vector<EmuCopy>> emu_cp_groups;  // committed, oldest first
inline thread_local std::vector<EmuCopy> emu_cp_open;                 // issued since the last commit
DEV void cp_async16(void* smem, const void* g, int bytes) {
    EmuCopy c;
    c.dst = smem;
    memcpy(c.data, g, bytes);
    memset(c.data + bytes, 0, 16 - bytes);
    emu_cp_open.push_back(c);
}
DEV void cp_async_commit() {
    emu_cp_groups.push_back(std::move(emu_cp_open));
    emu_cp_open.clear();
}
template <int N> DEV void cp_async_wait() {
    while ((int)emu_cp_groups.size() > N) {
        for (const EmuCopy& c : emu_cp_groups.front()) memcpy(c.dst, c.data, 16);
        emu_cp_groups.erase(emu_cp_groups.begin());
    }
}
DEV float ex2_approx(float x) { float y = exp2f(x); return std::fpclassify(y) == FP_SUBNORMAL ? 0.f : y; }
DEV float tanh_approx(float x) { return tanhf(x); }
// cvt.rna.tf32.f32 on finite values (ties away from zero); Inf/NaN kept
DEV float round_tf32(float v) {
    uint32_t u; memcpy(&u, &v, 4);
    if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0x1000u) & 0xffffe000u;
    float r; memcpy(&r, &u, 4); return r;
}
DEV int __float_as_int(float f) { int i; memcpy(&i, &f, 4); return i; }
DEV float __int_as_float(int i) { float f; memcpy(&f, &i, 4); return f; }
#include "exp2_fma.cuh"
#define LOG2E_F 1.4426950408889634f
DEV float softplus_exact(float x) { return x > 20.f ? x : log1pf(expf(x)); }
#include "softplus_fast.cuh"
DEV float silu_exact(float v) { return v / (1.f + expf(-v)); }
DEV float softplus_f32(float x) { return x > 20.f ? x : log1pf(expf(x)); }
DEV float silu_f32(float v) { return v / (1.f + expf(-v)); }
DEV float silu_fast(float v) { return v * fmaf(0.5f, tanh_approx(0.5f * v), 0.5f); }
DEV i64 imin64(i64 a, i64 b) { return a < b ? a : b; }
DEV int imin(int a, int b) { return a < b ? a : b; }
DEV int imax(int a, int b) { return a > b ? a : b; }

// --- extras for the GEMM emulation
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
struct __nv_bfloat162 { bf16 x, y; };
DEV float2 make_float2(float a, float b) { return float2{a, b}; }
DEV float4 make_float4(float a, float b, float c, float d) { return float4{a, b, c, d}; }
DEV uint4 make_uint4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return uint4{a, b, c, d}; }
DEV float2 __bfloat1622float2(__nv_bfloat162 v) { return float2{bf2f(v.x.b), bf2f(v.y.b)}; }
DEV __nv_bfloat162 __floats2bfloat162_rn(float a, float b) { return __nv_bfloat162{bf16{f2bf(a)}, bf16{f2bf(b)}}; }
template <typename T> DEV T __ldg(const T* p) { return *p; }
DEV uint32_t smem_u32(const void* p) { return (uint32_t)((const unsigned char*)p - emu_smem); }
DEV float __uint_as_float(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

// One exchange area per warp of a running block (EmuShfl, EmuWarp: any struct with a 32-thread barrier `bar`),
// alive for the block's launch.
template <class Area> struct PerWarp {
    std::vector<std::unique_ptr<std::barrier<>>> bars;
    std::vector<Area> areas;
    explicit PerWarp(int warps) : areas(warps) {
        for (Area& a : areas) {
            bars.emplace_back(new std::barrier<>(32));
            a.bar = bars.back().get();
        }
    }
};

// --- extras for the elementwise kernels: warp shuffles through the per-warp exchange area
extern thread_local dim3e gridDim;
struct EmuShfl { std::barrier<>* bar; double v[32]; };
extern EmuShfl* emu_shfl;  // one per warp of the running block
template <typename T> DEV T __shfl_xor_sync(unsigned, T v, int o) {
    EmuShfl& w = emu_shfl[threadIdx.x / 32];
    const int lane = threadIdx.x % 32;
    w.v[lane] = (double)v;
    w.bar->arrive_and_wait();
    T r = (T)w.v[lane ^ o];
    w.bar->arrive_and_wait();
    return r;
}
// __syncwarp: the warp's 32 threads meet (the scan's channel-per-thread pass syncs its own ring with it)
#define __syncwarp() emu_shfl[threadIdx.x / 32].bar->arrive_and_wait()
DEV float warp_sum(float v) { for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o); return v; }
DEV double warp_sum(double v) { for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o); return v; }
DEV float warp_max(float v) { for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o)); return v; }
DEV float bits_f32(i64 b) { return __int_as_float((int)b); }
