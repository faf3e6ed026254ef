// The whole kernel module as one translation unit (one fatbin, one cuModuleLoadData).
#include "common.cuh"
#include "elementwise.cu"
#include "conv1d.cu"
#include "scan.cu"
#include "gemm.cu"
#include "conv_xproj.cu"

// Which code the driver picked from the fatbin: __CUDA_ARCH__ (e.g. 900) and whether the arch-specific
// sm_90a features (wgmma) are compiled in. Read once by CudaBackend to choose kernels.
extern "C" __global__ void mamba_arch_probe(int* out) {
#ifdef __CUDA_ARCH__
    out[0] = __CUDA_ARCH__;
#else
    out[0] = 0;
#endif
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
    out[1] = 1;
#else
    out[1] = 0;
#endif
}
