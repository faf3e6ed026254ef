// Kernel probe for the H200 (no Java there is needed): builds the real kernel sources with nvcc on the
// device, checks each scan variant against a double-precision host reference on sample channels, and
// times scan variants and GEMM kernels with CUDA events (median of repeats, after warm-ups), next to a
// large device-to-device copy. `--once` launches each kernel once (for ncu).
// Build: nvcc -O3 -std=c++17 -arch=sm_90a -lineinfo -I kernels/src/main/cuda -o probe kernel_probe.cu
#include "all.cu"
#include "sm90a.cu"

// variants that the production module does not carry (measured slower), for comparison
SCAN_PAIR(f32, float, 16, 8)
SCAN_PAIR(bf16, bf16, 16, 8)
SCAN_PAIR_C(f32, float, 16, 2, 16, _c16)
SCAN_PAIR_C(bf16, bf16, 16, 2, 16, _c16)
SCAN_WS(f32, float, 16)  // fp32 warp-specialised main pass (slower than p4: not in the production module)
// the warp-specialised main pass with 2 helper warps (4 blocks of 192 threads per SM)
extern "C" __global__ void __launch_bounds__(192, 4) mamba_scan_bf16_n16_p4_ws64_main(const scan::P p) {
    scan::scan_ws_kernel<bf16, 16, 4, 64>(p);
}
// the 4-blocks-per-SM pass with the other register split measured in run 33 (production, sm90a.cu: 40 / 88)
extern "C" __global__ void __launch_bounds__(256, 4) mamba_scan_bf16_n16_p4_ws_r48_main(const scan::P p) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    scan::scan_ws_kernel<bf16, 16, 4, scan::WS_HELP, 48, 80>(p);
#else
    __trap();
#endif
}

// the bf16 channel-per-thread pass (production: 8-step tiles, 3 slots, 5 blocks per SM) at 6 blocks per SM (80
// registers; slower in run 51, as were A·log2 e in shared memory and 8-step tiles unrolled by 2 or 4)
extern "C" __global__ void __launch_bounds__(128, 6) mamba_scan_bf16_n16_chan_r80_main(const scan::P p) {
    scan::scan_chan_kernel<bf16, 8, 3>(p);
}

// The wgmma GEMMs with the signal order before run 45 (a stage signalled after the producer's empty wait and
// copies), for the A/B against the production kernels (gemm mode).
extern "C" __global__ void __launch_bounds__(384, 1) probe_wgmma_ws_bf16_n256_late(const gemm::P p) {
    wsg::gemm_ws<bf16, 256, true>(p);
}
extern "C" __global__ void __launch_bounds__(384, 1) probe_wgmma_ws_bf16_n128_late(const gemm::P p) {
    wsg::gemm_ws<bf16, 128, true>(p);
}
// other producer lags (production: 2 for both rings)
extern "C" __global__ void __launch_bounds__(384, 1) probe_wgmma_ws_bf16_n256_lag1(const gemm::P p) {
    wsg::gemm_ws<bf16, 256, false, 1>(p);
}
extern "C" __global__ void __launch_bounds__(384, 1) probe_wgmma_ws_bf16_n256_lag3(const gemm::P p) {
    wsg::gemm_ws<bf16, 256, false, 3>(p);
}
extern "C" __global__ void __launch_bounds__(384, 1) probe_wgmma_ws_bf16_n128_lag3(const gemm::P p) {
    wsg::gemm_ws<bf16, 128, false, 3>(p);
}
extern "C" __global__ void __launch_bounds__(384, 1) probe_wgmma_ws_bf16_n128_lag4(const gemm::P p) {
    wsg::gemm_ws<bf16, 128, false, 4>(p);
}
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#define CK(x)                                                                                      \
    do {                                                                                           \
        cudaError_t e_ = (x);                                                                      \
        if (e_ != cudaSuccess) {                                                                   \
            fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_));     \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static bool g_once = false;
static int g_sms = 132;

template <typename F>
static float time_ms(F&& f, int reps = 15) {
    if (g_once) { f(); CK(cudaDeviceSynchronize()); return 0.f; }
    for (int i = 0; i < 3; ++i) f();
    cudaEvent_t a, b;
    CK(cudaEventCreate(&a)); CK(cudaEventCreate(&b));
    std::vector<float> ts;
    for (int i = 0; i < reps; ++i) {
        CK(cudaEventRecord(a));
        f();
        CK(cudaEventRecord(b));
        CK(cudaEventSynchronize(b));
        float ms; CK(cudaEventElapsedTime(&ms, a, b)); ts.push_back(ms);
    }
    CK(cudaGetLastError());
    std::sort(ts.begin(), ts.end());
    return ts[ts.size() / 2];
}

static uint16_t f2bf(float f) { uint32_t u; memcpy(&u, &f, 4); u += 0x7FFF + ((u >> 16) & 1); return (uint16_t)(u >> 16); }
static float bf2f(uint16_t b) { uint32_t u = (uint32_t)b << 16; float f; memcpy(&f, &u, 4); return f; }

template <typename T> struct Host;
template <> struct Host<float> { static float enc(float v) { return v; } static float dec(float v) { return v; } };
template <> struct Host<bf16> {
    static bf16 enc(float v) { uint16_t b = f2bf(v); bf16 r; memcpy(&r, &b, 2); return r; }
    static float dec(bf16 v) { uint16_t b; memcpy(&b, &v, 2); return bf2f(b); }
};

template <typename T> static T* upload(const std::vector<float>& v) {
    std::vector<T> h(v.size());
    for (size_t i = 0; i < v.size(); ++i) h[i] = Host<T>::enc(v[i]);
    T* d; CK(cudaMalloc(&d, h.size() * sizeof(T)));
    CK(cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
    return d;
}

typedef void (*ScanK)(const scan::P);
// help: helper threads of a warp-specialised main pass; chan: a channel-per-thread pass (scan_chan.cuh)
struct ScanVariant { const char* name; ScanK main, fix; int npt, dt; int help = 0; bool chan = false; int tile = 8, slots = 3; };

// A/B builds: benchmarks/device/scan-variants.py writes scan_variants.cu (git-ignored) from other versions
// of scan.cu (a git revision, a patched copy), each in its own namespace, registered as extra variants.
#if __has_include("scan_variants.cu")
#include "scan_variants.cu"
#define HAVE_SCAN_VARIANTS 1
#endif

// ------------------------------------------------------------------ scan
// javaDist: the value ranges of CudaKernelBench (uniform u, dt, z, B, C; dt bias in [-5, -2]); bcLd > N:
// B and C are columns of an x_proj-shaped [rows, bcLd] buffer, as in the model (and CudaKernelBench).
template <typename T>
static void scan_shape(int B, int D, int L, int N, const std::vector<ScanVariant>& vs, const std::vector<int>& segs,
                       bool javaDist = false, int bcLd = 0) {
    const long rows = (long)B * L;
    if (bcLd < N) bcLd = N;
    std::mt19937 rng(42);
    std::normal_distribution<float> nd(0.f, 1.f);
    std::uniform_real_distribution<float> ud(0.f, 1.f);
    auto uni = [&](float lo, float hi) { return lo + (hi - lo) * ud(rng); };
    std::vector<float> u(rows * D), dt(rows * D), z(rows * D), Bm(rows * N), Cm(rows * N);
    for (auto& x : u) x = javaDist ? uni(-1.7f, 1.7f) : nd(rng);
    for (auto& x : dt) x = javaDist ? uni(-1.f, 1.f) : 0.3f * nd(rng);
    for (auto& x : z) x = javaDist ? uni(-2.f, 2.f) : nd(rng);
    for (auto& x : Bm) x = javaDist ? uni(-1.f, 1.f) : nd(rng);
    for (auto& x : Cm) x = javaDist ? uni(-1.f, 1.f) : nd(rng);
    std::vector<float> A(D * N), bias(D), Dsk(D), st0((long)B * D * N);
    for (int d = 0; d < D; ++d) {
        float d0 = std::exp(std::log(1e-3f) + ud(rng) * (std::log(1e-1f) - std::log(1e-3f)));
        bias[d] = javaDist ? uni(-5.f, -2.f) : std::log(std::expm1(d0));
        Dsk[d] = 1.f;
        for (int n = 0; n < N; ++n) A[d * N + n] = -(float)(n + 1);
    }
    for (auto& x : st0) x = 0.1f * nd(rng);
    // what the kernel sees (bf16-rounded inputs)
    auto rt = [](std::vector<float>& v) { for (auto& x : v) x = Host<T>::dec(Host<T>::enc(x)); };
    rt(u); rt(dt); rt(z); rt(Bm); rt(Cm);
    T *du = upload<T>(u), *ddt = upload<T>(dt), *dz = upload<T>(z), *dB, *dC, *dy;
    if (bcLd > N) {
        std::vector<float> dbc(rows * bcLd, 0.f);
        for (long r = 0; r < rows; ++r)
            for (int n = 0; n < N; ++n) { dbc[r * bcLd + bcLd - 2 * N + n] = Bm[r * N + n]; dbc[r * bcLd + bcLd - N + n] = Cm[r * N + n]; }
        dB = upload<T>(dbc) + (bcLd - 2 * N);
        dC = dB + N;
    } else {
        dB = upload<T>(Bm); dC = upload<T>(Cm);
    }
    CK(cudaMalloc(&dy, rows * D * sizeof(T)));
    float *dA = upload<float>(A), *dbias = upload<float>(bias), *dD = upload<float>(Dsk), *dst;
    CK(cudaMalloc(&dst, st0.size() * 4));
    std::vector<int> lens(B, L);
    int* dl; CK(cudaMalloc(&dl, B * 4)); CK(cudaMemcpy(dl, lens.data(), B * 4, cudaMemcpyHostToDevice));
    float* ws; size_t wsBytes = (size_t)B * 64 * D * (N + 1) * 4; CK(cudaMalloc(&ws, wsBytes));

    // host reference for sample channels of lane 0 and lane B-1
    const int chans[] = {0, 1, 17, 31, 32, D / 2 + 3, D - 2, D - 1};
    const int lanesChk[] = {0, B - 1};
    std::vector<double> yref, sref;
    for (int b : lanesChk)
        for (int d : chans) {
            std::vector<double> h(N);
            for (int n = 0; n < N; ++n) h[n] = st0[((long)b * D + d) * N + n];
            for (int t = 0; t < L; ++t) {
                long r = (long)b * L + t;
                double x = dt[r * D + d] + bias[d];
                double dl_ = x > 20 ? x : std::log1p(std::exp(x));
                double uu = u[r * D + d], acc = 0;
                for (int n = 0; n < N; ++n) {
                    h[n] = std::exp(dl_ * A[d * N + n]) * h[n] + dl_ * uu * Bm[r * N + n];
                    acc += h[n] * Cm[r * N + n];
                }
                double zz = z[r * D + d];
                yref.push_back((acc + Dsk[d] * uu) * zz / (1 + std::exp(-zz)));
            }
            for (int n = 0; n < N; ++n) sref.push_back(h[n]);
        }
    double ymax = 0; for (double v : yref) ymax = std::max(ymax, std::fabs(v));
    double smax = 0; for (double v : sref) smax = std::max(smax, std::fabs(v));

    const double bytes = (double)rows * D * 4 * sizeof(T) + (double)rows * N * 2 * sizeof(T);
    for (const auto& v : vs) {
        for (int S : segs) {
            int G = N / v.npt, threads = v.dt * G;
            int smem = 2 * (3 * 32 * v.dt + 2 * 32 * N) * (int)sizeof(T) + (2 * 32 * v.dt + 2 * 32 * N + 32 * v.dt * G) * 4;
            if (v.chan && S != 1) continue;
            const int mThreads = v.chan ? 32 * scan::CH_WARPS : threads + v.help;
            const int mSmem = v.chan ? scan::CH_WARPS * (v.slots * scan::ch_slot_elems(v.tile, false) * (int)sizeof(T) + (sizeof(T) == 2 ? v.tile * 128 : 0)) : v.help ? (N == 16 ? scan::ws_smem_bytes<T, 16, 4>() : -1) : smem;
            if (mSmem < 0) { printf("ws variant: N=16 only\n"); continue; }
            CK(cudaFuncSetAttribute(v.main, cudaFuncAttributeMaxDynamicSharedMemorySize, mSmem));
            if (v.fix) CK(cudaFuncSetAttribute(v.fix, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
            int occ = 0; CK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&occ, v.main, mThreads, mSmem));
            long segLen = L;
            int nseg = S;
            if (S > 1) { segLen = (L + S - 1) / S; segLen = (segLen + 31) / 32 * 32; nseg = (int)((L + segLen - 1) / segLen); }
            scan::P p{};
            p.u = (i64)du; p.dt = (i64)ddt; p.dtBias = (i64)dbias; p.A = (i64)dA; p.B = (i64)dB; p.C = (i64)dC;
            p.Dskip = (i64)dD; p.z = (i64)dz; p.state = (i64)dst; p.lens = (i64)dl; p.y = (i64)dy;
            p.ldu = D; p.lddt = D; p.lda = N; p.ldb = bcLd; p.ldc = bcLd; p.ldz = D; p.ldstate = (i64)D * N; p.ldlens = 1; p.ldy = D;
            p.T = L; p.D = D; p.Nreal = N; p.nseg = nseg; p.segLen = segLen;
            p.wsH = (i64)ws; p.wsS = (i64)(ws + (size_t)B * nseg * D * N); p.vecX = 1; p.vecBC = 1;
            dim3 grid = v.chan ? dim3((D / 32 + scan::CH_WARPS - 1) / scan::CH_WARPS, 1, B) : dim3((D + v.dt - 1) / v.dt, nseg, B);
            auto launch = [&] {
                v.main<<<grid, mThreads, mSmem>>>(p);
                if (nseg > 1) v.fix<<<dim3(grid.x, nseg - 1, B), threads, smem>>>(p);
            };
            // correctness from the initial state
            CK(cudaMemcpy(dst, st0.data(), st0.size() * 4, cudaMemcpyHostToDevice));
            launch();
            CK(cudaDeviceSynchronize());
            std::vector<T> yh(rows * D); std::vector<float> sh(st0.size());
            CK(cudaMemcpy(yh.data(), dy, yh.size() * sizeof(T), cudaMemcpyDeviceToHost));
            CK(cudaMemcpy(sh.data(), dst, sh.size() * 4, cudaMemcpyDeviceToHost));
            double ey = 0, es = 0; size_t iy = 0, is = 0;
            for (int b : lanesChk)
                for (int d : chans) {
                    for (int t = 0; t < L; ++t, ++iy) {
                        double g = Host<T>::dec(yh[((long)b * L + t) * D + d]);
                        ey = std::max(ey, std::fabs(g - yref[iy]) / ymax);
                    }
                    for (int n = 0; n < N; ++n, ++is) es = std::max(es, std::fabs(sh[((long)b * D + d) * N + n] - sref[is]) / smax);
                }
            float ms = time_ms(launch);
            printf("scan %-5s B=%d D=%d L=%-6d %-12s %s bc.ld=%-3d seg=%-3d occ=%d  %8.3f ms  %7.1f GB/s  err y %.2e state %.2e\n",
                   sizeof(T) == 2 ? "bf16" : "f32", B, D, L, v.name, javaDist ? "javaDist" : "normal  ", bcLd, nseg, occ, ms, bytes / ms / 1e6, ey, es);
            fflush(stdout);
        }
    }
    cudaFree(du); cudaFree(ddt); cudaFree(dz); cudaFree(dy); cudaFree(dA);
    cudaFree(dbias); cudaFree(dD); cudaFree(dst); cudaFree(dl); cudaFree(ws);
}

// ------------------------------------------------------------------ gemm
typedef void (*GemmK)(const gemm::P);
struct GemmKernel { const char* name; GemmK k; int bm, bn, threads, smem; bool persistent; };

template <typename Ti>
static void gemm_shape(const char* label, long M, long N, long K, bool outBf16, const std::vector<GemmKernel>& ks,
                       bool accumulate = false) {
    std::mt19937 rng(7);
    std::normal_distribution<float> nd(0.f, 1.f);
    std::vector<float> x(M * K), w(N * K);
    for (auto& v : x) v = nd(rng);
    for (auto& v : w) v = 0.05f * nd(rng);
    Ti *dx = upload<Ti>(x), *dw = upload<Ti>(w);
    void* dout; CK(cudaMalloc(&dout, M * N * 4));
    // reference rows (double) from the bf16-rounded operands
    const long chk[] = {0, 1, M / 2 + 5, M - 1};
    for (const auto& k : ks) {
        CK(cudaFuncSetAttribute(k.k, cudaFuncAttributeMaxDynamicSharedMemorySize, k.smem));
        gemm::P p{};
        p.x = (i64)dx; p.w = (i64)dw; p.bias = 0; p.out = (i64)dout; p.ldx = K; p.ldw = K; p.ldout = N;
        p.M = M; p.N = N; p.K = K; p.accumulate = accumulate; p.vecX = 1; p.vecW = 1; p.vecOut = 1; p.outBf16 = outBf16;
        long mt = (M + k.bm - 1) / k.bm, nt = (N + k.bn - 1) / k.bn;
        dim3 grid = k.persistent ? dim3((unsigned)std::min<long>(mt * nt, g_sms)) : dim3((unsigned)nt, (unsigned)mt);
        auto launch = [&] { k.k<<<grid, k.threads, k.smem>>>(p); };
        if (accumulate) CK(cudaMemset(dout, 0, M * N * 4));
        launch();
        CK(cudaDeviceSynchronize());
        double err = 0, mx = 0;
        for (long r : chk) {
            std::vector<float> row(N);
            if (outBf16) {
                std::vector<bf16> rb(N);
                CK(cudaMemcpy(rb.data(), (bf16*)dout + r * N, N * 2, cudaMemcpyDeviceToHost));
                for (long j = 0; j < N; ++j) row[j] = Host<bf16>::dec(rb[j]);
            } else {
                CK(cudaMemcpy(row.data(), (float*)dout + r * N, N * 4, cudaMemcpyDeviceToHost));
            }
            for (long j = 0; j < N; ++j) {
                double s = 0;
                for (long q = 0; q < K; ++q)
                    s += (double)Host<Ti>::dec(Host<Ti>::enc(x[r * K + q])) * Host<Ti>::dec(Host<Ti>::enc(w[j * K + q]));
                err = std::max(err, std::fabs(row[j] - s)); mx = std::max(mx, std::fabs(s));
            }
        }
        float ms = time_ms(launch, 30);
        printf("gemm %s %-9s M=%-6ld N=%-5ld K=%-5ld %-14s %8.4f ms  %7.1f TFLOP/s  rel.err %.2e\n", sizeof(Ti) == 2 ? "bf16" : "tf32", label, M, N, K,
               k.name, ms, 2.0 * M * N * K / ms / 1e9, err / mx);
        fflush(stdout);
    }
    cudaFree(dx); cudaFree(dw); cudaFree(dout);
}

// ------------------------------------------------------------------ conv1d (x is the first half of xz rows)
template <typename T>
static void conv_shape(int B, int L, int D) {
    const long rows = (long)B * L;
    std::mt19937 rng(3);
    std::normal_distribution<float> nd(0.f, 1.f);
    std::vector<float> xz(rows * 2 * D), w(D * 4), bias(D), st((long)B * D * 3, 0.f);
    for (auto& v : xz) v = nd(rng);
    for (auto& v : w) v = 0.5f * nd(rng);
    for (auto& v : bias) v = 0.1f * nd(rng);
    T* dx = upload<T>(xz); float *dw = upload<float>(w), *db = upload<float>(bias), *dst = upload<float>(st);
    std::vector<int> lens(B, L);
    int* dl; CK(cudaMalloc(&dl, B * 4)); CK(cudaMemcpy(dl, lens.data(), B * 4, cudaMemcpyHostToDevice));
    T* dout; CK(cudaMalloc(&dout, rows * D * sizeof(T)));
    conv::P p{};
    p.x = (i64)dx; p.w = (i64)dw; p.bias = (i64)db; p.state = (i64)dst; p.lens = (i64)dl; p.out = (i64)dout;
    p.ldx = 2 * D; p.ldw = 4; p.ldstate = 3L * D; p.ldlens = 1; p.ldout = D; p.T = L; p.D = D; p.K = 4;
    auto k = sizeof(T) == 2 ? (void (*)(const conv::P))mamba_conv1d_bf16_k4 : (void (*)(const conv::P))mamba_conv1d_f32_k4;
    const int chunks = (L + 63) / 64;
    dim3 grid((D + 31) / 32, (chunks + 3) / 4, B);
    float ms = time_ms([&] { k<<<grid, 128>>>(p); });
    printf("conv %-5s B=%d L=%d D=%d k4  %8.4f ms  %7.1f GB/s\n", sizeof(T) == 2 ? "bf16" : "f32", B, L, D, ms,
           2.0 * rows * D * sizeof(T) / ms / 1e6);
    cudaFree(dx); cudaFree(dw); cudaFree(db); cudaFree(dst); cudaFree(dl); cudaFree(dout);
}

int main(int argc, char** argv) {
    std::string what = "all";
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--once")) g_once = true;
        else what = argv[i];
    }
    cudaDeviceProp prop; CK(cudaGetDeviceProperties(&prop, 0)); g_sms = prop.multiProcessorCount;
    printf("device %s, %d SMs\n", prop.name, g_sms);
    if (!g_once) {
        size_t n = 2ull << 30; void *a, *b; CK(cudaMalloc(&a, n)); CK(cudaMalloc(&b, n));
        float ms = time_ms([&] { CK(cudaMemcpyAsync(b, a, n, cudaMemcpyDeviceToDevice)); });
        printf("copy 2 GiB D2D %.3f ms = %.1f GB/s (read+write)\n", ms, 2.0 * n / ms / 1e6);
        cudaFree(a); cudaFree(b);
    }
    if (what == "all" || what == "scan" || what == "scan8") {  // scan8: the batch-8 shapes only
        std::vector<ScanVariant> f32 = {
            {"p4 c32", mamba_scan_f32_n16_p4_main, mamba_scan_f32_n16_p4_fix, 4, 32},
            {"p2 c32", mamba_scan_f32_n16_p2_main, mamba_scan_f32_n16_p2_fix, 2, 32},
            {"p8 c32", mamba_scan_f32_n16_p8_main, mamba_scan_f32_n16_p8_fix, 8, 32},
            {"p2 c16", mamba_scan_f32_n16_p2_c16_main, mamba_scan_f32_n16_p2_c16_fix, 2, 16},
            {"p4 c32 exact", mamba_scan_f32_n16_p4_main_exact, mamba_scan_f32_n16_p4_fix_exact, 4, 32},
            {"ws", mamba_scan_f32_n16_p4_ws_main, mamba_scan_f32_n16_p4_fix, 4, 32, scan::WS_HELP}};
        std::vector<ScanVariant> b16 = {
            {"p4 c32", mamba_scan_bf16_n16_p4_main, mamba_scan_bf16_n16_p4_fix, 4, 32},
            {"p2 c32", mamba_scan_bf16_n16_p2_main, mamba_scan_bf16_n16_p2_fix, 2, 32},
            {"p8 c32", mamba_scan_bf16_n16_p8_main, mamba_scan_bf16_n16_p8_fix, 8, 32},
            {"p2 c16", mamba_scan_bf16_n16_p2_c16_main, mamba_scan_bf16_n16_p2_c16_fix, 2, 16},
            {"ws h64", mamba_scan_bf16_n16_p4_ws64_main, mamba_scan_bf16_n16_p4_fix, 4, 32, 64},
            {"ws", mamba_scan_bf16_n16_p4_ws_main, mamba_scan_bf16_n16_p4_fix, 4, 32, scan::WS_HELP},
            {"ws r48/80", mamba_scan_bf16_n16_p4_ws_r48_main, mamba_scan_bf16_n16_p4_fix, 4, 32, scan::WS_HELP},
            {"ws4 r40/88", mamba_scan_bf16_n16_p4_ws4_main, mamba_scan_bf16_n16_p4_fix, 4, 32, scan::WS_HELP}};
        if (g_once) { f32 = {f32.front(), f32.back()}; b16 = {b16.front(), b16[5], b16[6]}; }  // p4, ws, ws r48
#ifdef HAVE_SCAN_VARIANTS
        add_scan_variants(f32, b16);
#endif
        scan_shape<float>(8, 1536, 4096, 16, f32, {1});
        scan_shape<bf16>(8, 1536, 4096, 16, b16, {1, 2});
        if (!g_once) scan_shape<bf16>(8, 1536, 2048, 16, b16, {1});  // one layer of the 8 x 2048 forward
        if (!g_once) scan_shape<bf16>(64, 1536, 2048, 16, b16, {1});  // one layer of the 64 x 2048 forward
        if (!g_once && what != "scan8") {
            scan_shape<float>(1, 1536, 262144, 16, f32, {8, 11, 16});
            scan_shape<bf16>(1, 1536, 262144, 16, b16, {8, 11, 16});
        }
    }
    if (what == "chan") {  // the channel-per-thread pass against the production bf16 passes, by lane count
        std::vector<ScanVariant> b16 = {
            {"ws4 r40/88", mamba_scan_bf16_n16_p4_ws4_main, mamba_scan_bf16_n16_p4_fix, 4, 32, scan::WS_HELP},
            {"chan", mamba_scan_bf16_n16_chan_main, nullptr, 16, 32, 0, true, 8, 3},
            {"chan r80", mamba_scan_bf16_n16_chan_r80_main, nullptr, 16, 32, 0, true, 8, 3}};
        std::vector<ScanVariant> f32 = {
            {"p4 c32", mamba_scan_f32_n16_p4_main, mamba_scan_f32_n16_p4_fix, 4, 32},
            {"chan", mamba_scan_f32_n16_chan_main, nullptr, 16, 32, 0, true, 8, 2}};
        if (g_once) {
            scan_shape<bf16>(64, 1536, 2048, 16, {b16[1]}, {1});
        } else {
            scan_shape<bf16>(64, 1536, 2048, 16, b16, {1});
            scan_shape<bf16>(55, 1536, 2048, 16, b16, {1});  // 2640 warps: one full wave at 5 blocks per SM
            scan_shape<bf16>(9, 1536, 2048, 16, b16, {1});   // what 64 lanes leave for a second wave
            scan_shape<bf16>(32, 1536, 2048, 16, b16, {1});
            scan_shape<bf16>(16, 1536, 2048, 16, b16, {1});
            scan_shape<bf16>(8, 1536, 4096, 16, b16, {1});
            scan_shape<bf16>(128, 1536, 1024, 16, b16, {1});
            scan_shape<float>(64, 1536, 2048, 16, f32, {1});
        }
    }
    if (what == "layout") {
        // what differs between this probe and CudaKernelBench: value ranges and B/C layout
        std::vector<ScanVariant> f32 = {{"p4 c32", mamba_scan_f32_n16_p4_main, mamba_scan_f32_n16_p4_fix, 4, 32}};
        std::vector<ScanVariant> b16 = {{"p4 c32", mamba_scan_bf16_n16_p4_main, mamba_scan_bf16_n16_p4_fix, 4, 32}};
        for (int jd = 0; jd < 2; ++jd)
            for (int ld : {16, 80}) {
                scan_shape<float>(8, 1536, 4096, 16, f32, {1}, jd != 0, ld);
                scan_shape<bf16>(8, 1536, 4096, 16, b16, {1}, jd != 0, ld);
            }
    }
    if (what == "all" || what == "conv") {
        conv_shape<bf16>(8, 2048, 1536);
        conv_shape<float>(8, 2048, 1536);
    }
    if (what == "xproj") {  // x_proj of the 64 x 2048 forward alone, ws128 (for Nsight Compute)
        std::vector<GemmKernel> ks = {{"wgmma_ws128", mamba_wgmma_ws_bf16_n128, 128, 128, 384, wsg::Cfg<128>::SMEM, true}};
        gemm_shape<bf16>("x_proj", 131072, 80, 1536, true, ks);
    }
    if (what == "inproj") {  // in_proj of the 64 x 2048 forward alone, ws256 (for Nsight Compute)
        std::vector<GemmKernel> ks = {{"wgmma_ws256", mamba_wgmma_ws_bf16_n256, 128, 256, 384, wsg::Cfg<256>::SMEM, true}};
        gemm_shape<bf16>("in_proj", 131072, 3072, 768, true, ks);
    }
    if (what == "all" || what == "gemm") {
        const int ws256 = wsg::Cfg<256>::SMEM, ws128 = wsg::Cfg<128>::SMEM;
        std::vector<GemmKernel> ks = {
            {"wgmma_ws256", mamba_wgmma_ws_bf16_n256, 128, 256, 384, ws256, true},
            {"wgmma_ws128", mamba_wgmma_ws_bf16_n128, 128, 128, 384, ws128, true},
            {"ws256_late", probe_wgmma_ws_bf16_n256_late, 128, 256, 384, ws256, true},
            {"ws128_late", probe_wgmma_ws_bf16_n128_late, 128, 128, 384, ws128, true},
            {"ws256_lag1", probe_wgmma_ws_bf16_n256_lag1, 128, 256, 384, ws256, true},
            {"ws256_lag3", probe_wgmma_ws_bf16_n256_lag3, 128, 256, 384, ws256, true},
            {"ws128_lag3", probe_wgmma_ws_bf16_n128_lag3, 128, 128, 384, ws128, true},
            {"ws128_lag4", probe_wgmma_ws_bf16_n128_lag4, 128, 128, 384, ws128, true},
            {"mma_big", mamba_mma_bf16_big, 128, 256, 256, 4 * (128 + 256) * 128, false},
            {"mma_small", mamba_mma_bf16_small, 128, 128, 128, 3 * (128 + 128) * 128, false}};
        if (g_once) ks.resize(1);
        gemm_shape<bf16>("in_proj", 16384, 3072, 768, true, ks);
        gemm_shape<bf16>("out_proj", 16384, 768, 1536, false, ks);
        gemm_shape<bf16>("out_proj+=", 16384, 768, 1536, false, ks, true);
        gemm_shape<bf16>("x_proj", 16384, 80, 1536, true, ks);
        gemm_shape<bf16>("dt_proj", 16384, 1536, 48, true, ks);
        if (!g_once) gemm_shape<bf16>("in_proj", 131072, 3072, 768, true, ks);
        if (!g_once) gemm_shape<bf16>("out_proj", 131072, 768, 1536, true, ks);
        if (!g_once) gemm_shape<bf16>("x_proj", 131072, 80, 1536, true, ks);
        std::vector<GemmKernel> kt = {
            {"wgmma_ws256", mamba_wgmma_ws_tf32_n256, 128, 256, 384, ws256, true},
            {"wgmma_ws128", mamba_wgmma_ws_tf32_n128, 128, 128, 384, ws128, true},
            {"mma_small", mamba_mma_tf32_small, 128, 128, 128, 3 * (128 + 128) * 128, false}};
        if (g_once) kt.resize(1);
        gemm_shape<float>("in_proj", 16384, 3072, 768, false, kt);
        gemm_shape<float>("out_proj", 16384, 768, 1536, false, kt);
        gemm_shape<float>("x_proj", 16384, 80, 1536, false, kt);
        gemm_shape<float>("dt_proj", 16384, 1536, 48, false, kt);
    }
    return 0;
}
