// Hopper (sm_90a) primitives of the wgmma GEMMs: shared-memory matrix descriptors, wgmma fences and
// groups, mbarriers, register reallocation. Kept apart so that the CPU emulation (src/test/cuda-emu)
// can substitute its own versions, as mma_ops.cuh is for the mma.sync GEMM.
#pragma once
#include "common.cuh"

namespace wg {

// Shared-memory matrix descriptor of a K-major operand in the 128-byte-swizzle layout: start address,
// leading byte offset 16 (unused for swizzled K-major), stride byte offset 1024 (between 8-row groups),
// swizzle mode 1 (128 B). The tile loader writes 16-byte chunk c of row r at r*128 + ((c ^ r%8) * 16)
// from a 1024-byte-aligned base, which is exactly this layout; one k-step of 32 bytes (16 bf16 or 8
// tf32) advances the start address by 32.
DEV uint64_t desc(uint32_t addr) {
    return (uint64_t)((addr & 0x3FFFF) >> 4) | ((uint64_t)1 << 16) | ((uint64_t)(1024 >> 4) << 32) |
           ((uint64_t)1 << 62);
}

DEV void fence_operands() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
DEV void commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N> DEV void wait() { asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory"); }
// Makes this thread's generic-proxy shared-memory writes (cp.async, st.shared) visible to the async
// proxy that wgmma reads through; issued by the writer before it signals the stage.
DEV void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

// ------------------------------------------------------------------ bulk copies (shared -> global)

// One contiguous shared -> global copy by the TMA unit (no tensor map: 16-byte aligned ends, a multiple of 16
// bytes), in this thread's bulk async-group. It reads shared memory through the async proxy: the writers fence
// (fence_proxy_async) before the issuing thread starts it.
DEV void bulk_store(void* gdst, uint32_t ssrc, unsigned bytes) {
    asm volatile("cp.async.bulk.global.shared::cta.bulk_group [%0], [%1], %2;\n" ::"l"(gdst), "r"(ssrc), "r"(bytes)
                 : "memory");
}
// The same, adding f32 values into global memory (the residual add of out_proj): the L2 applies each add.
DEV void bulk_add_f32(void* gdst, uint32_t ssrc, unsigned bytes) {
    asm volatile("cp.reduce.async.bulk.global.shared::cta.bulk_group.add.f32 [%0], [%1], %2;\n" ::"l"(gdst), "r"(ssrc),
                 "r"(bytes)
                 : "memory");
}
DEV void bulk_commit() { asm volatile("cp.async.bulk.commit_group;\n" ::: "memory"); }
// Waits until at most N of this thread's bulk groups still read their shared-memory source.
template <int N> DEV void bulk_wait_read() { asm volatile("cp.async.bulk.wait_group.read %0;\n" ::"n"(N) : "memory"); }

// ------------------------------------------------------------------ tensor copies (global -> shared)

// A CUtensorMap (cuda.h): 128 opaque bytes that cuTensorMapEncodeTiled fills on the host, 64-byte aligned. The
// kernels take it inside a __grid_constant__ parameter, so its address is a generic address the TMA unit reads.
struct alignas(64) TensorMap {
    unsigned long long opaque[16];
};

// Adds bytes to the transaction count the current phase of the mbarrier waits for and arrives once (the
// producer's arrival for a stage that the TMA unit fills).
DEV void bar_arrive_expect_tx(uint32_t bar, unsigned bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
// One box of a 2-D tensor map (c0: the inner coordinate in elements, c1: the row) into shared memory at dst, laid
// out as the map's swizzle says; the TMA unit zero-fills what lies outside the tensor and completes the box's bytes
// on the mbarrier.
DEV void tma_load_2d(uint32_t dst, const TensorMap* map, int c0, int c1, uint32_t bar) {
    asm volatile(
        "cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n" ::"r"(dst),
        "l"(map), "r"(c0), "r"(c1), "r"(bar)
        : "memory");
}
// Fetches the descriptor into the TMA unit's cache ahead of the first copy.
DEV void tma_prefetch_map(const TensorMap* map) { asm volatile("prefetch.tensormap [%0];\n" ::"l"(map) : "memory"); }

// ------------------------------------------------------------------ mbarriers (CTA scope)

// Asks L2 to fetch the 128-byte line holding p (no register result, nothing to wait for).
DEV void prefetch_l2(const void* p) { asm volatile("prefetch.global.L2 [%0];\n" ::"l"(p)); }

// Orders the warp's lanes (and their shared-memory effects) before one lane signals for the warp.
DEV void warp_sync() { __syncwarp(); }

DEV void bar_init(uint32_t bar, unsigned count) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
DEV void bar_arrive(uint32_t bar) {
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
DEV bool bar_try(uint32_t bar, unsigned parity) {
    uint32_t ok;
    asm volatile(
        "{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(ok)
        : "r"(bar), "r"(parity)
        : "memory");
    return ok != 0;
}
// Waits for the completion of the phase with this parity. A protocol bug must not hang the device (the
// backend would never get control back): after ~2^32 clocks (~2 s) of waiting the kernel traps, which
// the launch reports as an error.
DEV void bar_wait(uint32_t bar, unsigned parity) {
    if (bar_try(bar, parity)) return;
    const long long t0 = clock64();
    unsigned n = 0;
    while (!bar_try(bar, parity)) {
        if ((++n & 255u) == 0 && clock64() - t0 > (1LL << 32)) __trap();
    }
}

}  // namespace wg

#include "wgmma_mma.cuh"
