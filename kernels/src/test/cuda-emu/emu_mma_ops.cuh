// Host emulation of mma_ops.cuh, following the PTX ISA fragment layouts: lanes of a warp exchange
// addresses/fragments through a per-warp area guarded by a 32-thread barrier.
#pragma once
#include "emu_common.cuh"

struct EmuWarp {
    std::barrier<>* bar;
    uint32_t addr[32];
    uint32_t a[32][4], b[32][2];
};
extern EmuWarp* emu_warps;  // one per warp of the running block

namespace gemm {

DEV EmuWarp& warp_area() { return emu_warps[threadIdx.x / 32]; }

// ldmatrix.m8n8.x4.b16: lanes 8j..8j+7 give the row addresses of matrix j; lane t receives the 32-bit
// word (row t/4, word t%4) of each matrix j in r[j].
DEV void ldmatrix_x4(uint32_t (&r)[4], uint32_t addr) {
    EmuWarp& w = warp_area();
    const int lane = threadIdx.x % 32;
    w.addr[lane] = addr;
    w.bar->arrive_and_wait();
    for (int j = 0; j < 4; ++j) memcpy(&r[j], emu_smem + w.addr[j * 8 + lane / 4] + (lane % 4) * 4, 4);
    w.bar->arrive_and_wait();
}

// cvt.rna.tf32.f32: round to nearest (ties away from zero) keeping 10 mantissa bits.
DEV uint32_t to_tf32(uint32_t f) {
    if ((f & 0x7f800000) == 0x7f800000) return f;
    return (f + 0x1000u) & 0xffffe000u;
}

DEV float bfh(uint32_t reg, int half) { return bf2f((uint16_t)(half ? reg >> 16 : reg & 0xffff)); }
DEV float f32b(uint32_t reg) { float v; memcpy(&v, &reg, 4); return v; }

// mma.m16n8k16 bf16: A 16x16 row-major: a0 (g, 2t..2t+1), a1 (g+8, ..), a2 (g, 2t+8..), a3 (g+8, 2t+8..);
// B 16x8: b0 (k 2t..2t+1, n g), b1 (k 2t+8.., n g); C/D: c0,c1 (g, 2t..2t+1), c2,c3 (g+8, ..).
DEV void mma_bf16(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    EmuWarp& w = warp_area();
    const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    for (int i = 0; i < 4; ++i) w.a[lane][i] = a[i];
    w.b[lane][0] = b0;
    w.b[lane][1] = b1;
    w.bar->arrive_and_wait();
    auto A = [&](int r, int k) { int ln = (r % 8) * 4 + (k % 8) / 2; int reg = (r >= 8) + 2 * (k >= 8); return bfh(w.a[ln][reg], k % 2); };
    auto B = [&](int k, int n) { int ln = n * 4 + (k % 8) / 2; return bfh(w.b[ln][k >= 8], k % 2); };
    float d[4];
    for (int e = 0; e < 4; ++e) {
        int r = g + (e >= 2 ? 8 : 0), n = 2 * t + (e % 2);
        double s = c[e];
        for (int k = 0; k < 16; ++k) s += (double)A(r, k) * B(k, n);
        d[e] = (float)s;
    }
    w.bar->arrive_and_wait();
    for (int e = 0; e < 4; ++e) c[e] = d[e];
}

// mma.m16n8k8 tf32: a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4); b0 (k t, n g), b1 (k t+4, n g).
DEV void mma_tf32(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
    EmuWarp& w = warp_area();
    const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    for (int i = 0; i < 4; ++i) w.a[lane][i] = a[i];
    w.b[lane][0] = b0;
    w.b[lane][1] = b1;
    w.bar->arrive_and_wait();
    auto A = [&](int r, int k) { int ln = (r % 8) * 4 + k % 4; int reg = (r >= 8) + 2 * (k >= 4); return f32b(w.a[ln][reg]); };
    auto B = [&](int k, int n) { int ln = n * 4 + k % 4; return f32b(w.b[ln][k >= 4]); };
    float d[4];
    for (int e = 0; e < 4; ++e) {
        int r = g + (e >= 2 ? 8 : 0), n = 2 * t + (e % 2);
        double s = c[e];
        for (int k = 0; k < 8; ++k) s += (double)A(r, k) * B(k, n);
        d[e] = (float)s;
    }
    w.bar->arrive_and_wait();
    for (int e = 0; e < 4; ++e) c[e] = d[e];
}

}  // namespace gemm
