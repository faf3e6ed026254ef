// Host emulation of wgmma_ops.cuh (and wgmma_mma.cuh): mbarriers with PTX phase/parity semantics, and
// wgmma.mma_async that reads its operands through the shared-memory descriptors (128-byte swizzle
// decoded from the address bits, as the hardware applies it) at the latest moment the PTX allows: when
// wgmma.wait_group retires its group. A stage refilled before the consumers released it therefore feeds
// wrong data into the result, and a protocol that never completes a phase aborts after a timeout.
#pragma once
#include "emu_common.cuh"
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <vector>

#ifndef __CUDA_ARCH_FEAT_SM90_ALL
#define __CUDA_ARCH_FEAT_SM90_ALL 1
#endif
#ifndef __CUDA_ARCH__
#define __CUDA_ARCH__ 900
#endif

#ifndef __grid_constant__
#define __grid_constant__
#endif

struct EmuMbar {
    unsigned expected = 0, pending = 0, phase = 0;
    long tx = 0;  // transaction bytes the current phase still waits for (expect_tx adds, complete_tx subtracts)
};
struct EmuMbars {
    std::mutex m;
    std::condition_variable cv;
    std::map<uint32_t, EmuMbar> bars;
};
extern EmuMbars emu_mbars;  // reset by the launcher before every block

namespace wg {

DEV uint64_t desc(uint32_t addr) {
    return (uint64_t)((addr & 0x3FFFF) >> 4) | ((uint64_t)1 << 16) | ((uint64_t)(1024 >> 4) << 32) |
           ((uint64_t)1 << 62);
}

// Byte offset in shared memory of (row, byte kb of the row's 32-byte k-step) of a K-major operand.
inline uint32_t emu_addr(uint64_t d, int row, int kb) {
    const uint32_t start = (uint32_t)(d & 0x3FFF) << 4;
    const uint32_t sbo = (uint32_t)((d >> 32) & 0x3FFF) << 4;
    const unsigned mode = (unsigned)(d >> 62);
    if (mode != 1) { fprintf(stderr, "emu: only the 128B swizzle is emulated\n"); abort(); }
    const uint32_t a = start + (uint32_t)(row / 8) * sbo + (uint32_t)(row % 8) * 128 + (uint32_t)kb;
    return a ^ (((a >> 7) & 7u) << 4);
}

struct EmuMma {
    float* d;
    int n;            // columns
    bool tf32;
    uint64_t da, db;
    int scaleD;
};
struct EmuGroups {
    std::vector<EmuMma> open;
    std::deque<std::vector<EmuMma>> committed;
};
extern thread_local EmuGroups emu_groups;

inline void emu_exec(const EmuMma& op) {
    const int t = threadIdx.x % 128, warp = t / 32, lane = t % 32;
    const int ksteps = op.tf32 ? 8 : 16, eb = op.tf32 ? 4 : 2;
    for (int j = 0; j < op.n / 8; ++j)
        for (int e = 0; e < 4; ++e) {
            const int row = warp * 16 + lane / 4 + (e >= 2 ? 8 : 0);
            const int col = j * 8 + 2 * (lane % 4) + (e & 1);
            double s = op.scaleD ? op.d[j * 4 + e] : 0.0;
            for (int k = 0; k < ksteps; ++k) {
                float a, b;
                if (op.tf32) {
                    uint32_t ua, ub;
                    memcpy(&ua, emu_smem + emu_addr(op.da, row, k * eb), 4);
                    memcpy(&ub, emu_smem + emu_addr(op.db, col, k * eb), 4);
                    ua &= 0xffffe000u;  // the tensor cores read tf32: the low 13 mantissa bits are ignored
                    ub &= 0xffffe000u;
                    memcpy(&a, &ua, 4);
                    memcpy(&b, &ub, 4);
                } else {
                    uint16_t ha, hb;
                    memcpy(&ha, emu_smem + emu_addr(op.da, row, k * eb), 2);
                    memcpy(&hb, emu_smem + emu_addr(op.db, col, k * eb), 2);
                    a = bf2f(ha);
                    b = bf2f(hb);
                }
                s += (double)a * b;
            }
            op.d[j * 4 + e] = (float)s;
        }
}

DEV void fence_operands() {}
DEV void commit() {
    emu_groups.committed.push_back(std::move(emu_groups.open));
    emu_groups.open.clear();
}
template <int N> DEV void wait() {
    while ((int)emu_groups.committed.size() > N) {
        for (const EmuMma& op : emu_groups.committed.front()) emu_exec(op);
        emu_groups.committed.pop_front();
    }
    // .sync.aligned: the warp leaves the wait together, so one lane may then signal for all of it
    emu_warps[threadIdx.x / 32].bar->arrive_and_wait();
}
DEV void fence_proxy_async() {}

// Bulk shared -> global copies: each reads its source when wait_group.read retires its group (the latest
// moment the PTX allows), so a buffer rewritten before that wait shows in the output.
struct EmuBulk {
    void* dst;
    uint32_t src;
    unsigned bytes;
    bool add;  // f32 reduce-add instead of a copy
};
struct EmuBulkGroups {
    std::vector<EmuBulk> open;
    std::deque<std::vector<EmuBulk>> committed;
};
extern thread_local EmuBulkGroups emu_bulk;
inline void emu_bulk_issue(void* gdst, uint32_t ssrc, unsigned bytes, bool add) {
    if ((ssrc & 15u) || ((uintptr_t)gdst & 15u) || (bytes & 15u)) {
        fprintf(stderr, "emu: bulk copy of %u bytes from %u to %p is not 16-byte aligned\n", bytes, ssrc, gdst);
        abort();
    }
    emu_bulk.open.push_back(EmuBulk{gdst, ssrc, bytes, add});
}
DEV void bulk_store(void* gdst, uint32_t ssrc, unsigned bytes) { emu_bulk_issue(gdst, ssrc, bytes, false); }
DEV void bulk_add_f32(void* gdst, uint32_t ssrc, unsigned bytes) { emu_bulk_issue(gdst, ssrc, bytes, true); }
DEV void bulk_commit() {
    emu_bulk.committed.push_back(std::move(emu_bulk.open));
    emu_bulk.open.clear();
}
template <int N> DEV void bulk_wait_read() {
    while ((int)emu_bulk.committed.size() > N) {
        for (const EmuBulk& c : emu_bulk.committed.front()) {
            if (!c.add) {
                memcpy(c.dst, emu_smem + c.src, c.bytes);
                continue;
            }
            for (unsigned i = 0; i < c.bytes / 4; ++i) {
                float a, b;
                memcpy(&a, (unsigned char*)c.dst + 4 * i, 4);
                memcpy(&b, emu_smem + c.src + 4 * i, 4);
                a += b;
                memcpy((unsigned char*)c.dst + 4 * i, &a, 4);
            }
        }
        emu_bulk.committed.pop_front();
    }
}

DEV void warp_sync() { emu_warps[threadIdx.x / 32].bar->arrive_and_wait(); }
DEV void prefetch_l2(const void*) {}

DEV void bar_init(uint32_t bar, unsigned count) {
    std::lock_guard<std::mutex> l(emu_mbars.m);
    emu_mbars.bars[bar] = EmuMbar{count, count, 0};
}
// The phase completes when every arrival came and every transaction byte landed (mbarrier.arrive, expect_tx,
// complete_tx of the PTX ISA); called with emu_mbars.m held.
inline void emu_bar_update(EmuMbar& b, unsigned arrivals, long expect, long complete) {
    b.pending -= arrivals;
    b.tx += expect - complete;
    if (b.pending == 0 && b.tx == 0) {
        b.phase++;
        b.pending = b.expected;
        emu_mbars.cv.notify_all();
    }
}
DEV void bar_arrive(uint32_t bar) {
    std::lock_guard<std::mutex> l(emu_mbars.m);
    emu_bar_update(emu_mbars.bars.at(bar), 1, 0, 0);
}
DEV void bar_arrive_expect_tx(uint32_t bar, unsigned bytes) {
    std::lock_guard<std::mutex> l(emu_mbars.m);
    emu_bar_update(emu_mbars.bars.at(bar), 1, bytes, 0);
}

// Tensor maps: the emulation's own encoding of the 128 bytes (emu_tensor_map), not the driver's.
struct alignas(64) TensorMap {
    unsigned long long opaque[16];
};
// A 2-D bf16 map: base, cols (inner), rows, row stride in bytes, box rows; boxes of 64 columns.
inline TensorMap emu_tensor_map(const void* base, long cols, long rows, long strideBytes, int boxRows) {
    if (((uintptr_t)base & 15u) || (strideBytes & 15) || boxRows < 1 || boxRows > 256) {
        // what cuTensorMapEncodeTiled refuses (CudaGemm never asks for it: TensorMaps checks first)
        fprintf(stderr, "emu: tensor map of %p, stride %ld, box rows %d: not encodable\n", base, strideBytes, boxRows);
        abort();
    }
    TensorMap m{};
    m.opaque[0] = (uintptr_t)base;
    m.opaque[1] = cols;
    m.opaque[2] = rows;
    m.opaque[3] = strideBytes;
    m.opaque[4] = boxRows;
    return m;
}
// The box lands in shared memory at once, zero outside the tensor, each 16-byte chunk where the 128-byte
// swizzle puts it (address bits 7-9 XOR bits 4-6), and its bytes complete on the mbarrier. A stage refilled
// before the consumers released it shows in the result (their wgmma read at wait_group).
DEV void tma_load_2d(uint32_t dst, const TensorMap* map, int c0, int c1, uint32_t bar) {
    const unsigned char* g = (const unsigned char*)(uintptr_t)map->opaque[0];
    const long cols = (long)map->opaque[1], rows = (long)map->opaque[2], stride = (long)map->opaque[3];
    const int boxRows = (int)map->opaque[4];
    if (dst & 1023u) { fprintf(stderr, "emu: swizzled TMA box at %u is not 1024-byte aligned\n", dst); abort(); }
    for (int r = 0; r < boxRows; ++r)
        for (int e = 0; e < 64; ++e) {
            const long row = (long)c1 + r, col = (long)c0 + e;
            uint16_t v = 0;
            if (row < rows && col < cols) memcpy(&v, g + row * stride + col * 2, 2);
            uint32_t a = dst + (uint32_t)r * 128 + (uint32_t)e * 2;
            a ^= ((a >> 7) & 7u) << 4;
            memcpy(emu_smem + a, &v, 2);
        }
    std::lock_guard<std::mutex> l(emu_mbars.m);
    emu_bar_update(emu_mbars.bars.at(bar), 0, 0, (long)boxRows * 128);
}
DEV void tma_prefetch_map(const TensorMap*) {}
DEV bool bar_try(uint32_t bar, unsigned parity) {
    std::lock_guard<std::mutex> l(emu_mbars.m);
    return (emu_mbars.bars.at(bar).phase & 1u) != parity;
}
DEV void bar_wait(uint32_t bar, unsigned parity) {
    std::unique_lock<std::mutex> l(emu_mbars.m);
    EmuMbar& b = emu_mbars.bars.at(bar);
    if (!emu_mbars.cv.wait_for(l, std::chrono::seconds(60), [&] { return (b.phase & 1u) != parity; })) {
        fprintf(stderr, "emu: mbarrier at %u never completed the phase of parity %u (thread %u): deadlock\n", bar,
                parity, threadIdx.x);
        abort();
    }
}

#define EMU_MMA(NAME, N, TF)                                                  \
    DEV void NAME(float (&d)[N / 2], uint64_t da, uint64_t db, int scaleD) { \
        emu_groups.open.push_back(EmuMma{d, N, TF, da, db, scaleD});         \
    }
EMU_MMA(mma_bf16_n256, 256, false)
EMU_MMA(mma_bf16_n192, 192, false)
EMU_MMA(mma_bf16_n128, 128, false)
EMU_MMA(mma_tf32_n256, 256, true)
EMU_MMA(mma_tf32_n128, 128, true)

}  // namespace wg
