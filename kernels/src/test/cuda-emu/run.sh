#!/usr/bin/env bash
# Runs the real scan.cuh / scan_chan.cuh / conv1d.cu / conv_xproj.cu / gemm.cu / wgmma.cu / elementwise.cu kernel code on the CPU: every CUDA thread becomes a std::thread,
# __syncthreads a std::barrier, cp.async a zero-filled copy that lands in shared memory only when
# cp.async.wait_group retires its group, ex2.approx exp2f, ldmatrix and mma.sync
# lane exchanges per the PTX fragment layouts (emu_mma_ops.cuh), mbarriers and descriptor-reading wgmma
# (emu_wgmma_ops.cuh). Checks the kernels' indexing, tiling,
# swizzles, time segments and carries against scalar references on a GPU-less machine.
# Usage: run.sh [work dir] (EMU_ALL=1 adds slower GEMM cases). Needs g++ with C++20 (std::barrier).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cuda=$here/../../main/cuda
work=${1:-$(mktemp -d)}
mkdir -p "$work"
cp "$here/emu_common.cuh" "$cuda/exp2_fma.cuh" "$cuda/softplus_fast.cuh" "$cuda/pairs.cuh" "$cuda/conv_state.cuh" "$work/"
# the only device-specific lines of the kernels: dynamic shared memory and its size check
sed -e 's/    extern __shared__ __align__(16) unsigned char smem\[\];/    unsigned char* smem = emu_smem;/' \
    -e 's/        asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(dyn));/        dyn = 1u << 30;/' \
    -e 's/__host__ __device__ constexpr/constexpr/' \
    -e 's/#include "common.cuh"/#include "emu_common.cuh"/' -e 's/#include "mma_ops.cuh"/#include "emu_mma_ops.cuh"/' \
    "$cuda/scan.cuh" > "$work/scan.cuh"
sed -e 's/    extern __shared__ __align__(16) unsigned char smem\[\];/    unsigned char* smem = emu_smem;/' \
    -e 's/        asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(dyn));/        dyn = 1u << 30;/' \
    -e 's/__host__ __device__ constexpr/constexpr/' "$cuda/scan_chan.cuh" > "$work/scan_chan.cuh"
grep -q "emu_smem" "$work/scan_chan.cuh" || { echo "scan_chan.cuh no longer matches the emulation's patterns"; exit 3; }
cp "$cuda/scan.cu" "$work/scan.cu"
sed -e 's/__launch_bounds__(128) //' -e 's/#include "common.cuh"/#include "emu_common.cuh"/' "$cuda/conv1d.cu" > "$work/conv1d.cu"
grep -q "emu_smem" "$work/scan.cuh" || { echo "scan.cuh no longer matches the emulation's patterns"; exit 3; }
sed -e 's/#include "common.cuh"/#include "emu_common.cuh"/' -e 's/#include "mma_ops.cuh"/#include "emu_mma_ops.cuh"/' \
    "$cuda/gemm_common.cuh" > "$work/gemm_common.cuh"
sed -e 's/    extern __shared__ __align__(128) unsigned char smem\[\];/    unsigned char* smem = emu_smem;/' \
    -e 's/        asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(dyn));/        dyn = 1u << 30;/' "$cuda/gemm.cu" > "$work/gemm.cu"
grep -q "emu_smem" "$work/gemm.cu" || { echo "gemm.cu no longer matches the emulation's patterns"; exit 3; }
sed -e 's/#include "common.cuh"/#include "emu_common.cuh"/' -e 's/__launch_bounds__(256) //' "$cuda/elementwise.cu" > "$work/elementwise.cu"
sed -e 's/    extern __shared__ __align__(128) unsigned char smem\[\];/    unsigned char* smem = emu_smem;/' \
    -e 's/        asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(dyn));/        dyn = 1u << 30;/' \
    -e 's/__host__ __device__ constexpr/constexpr/' "$cuda/conv_xproj.cu" > "$work/conv_xproj.cu"
grep -q "emu_smem" "$work/conv_xproj.cu" || { echo "conv_xproj.cu no longer matches the emulation's patterns"; exit 3; }
sed -e 's/    extern __shared__ __align__(1024) unsigned char smem_raw\[\];/    unsigned char* smem_raw = emu_smem;/' \
    -e 's/        asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(dyn));/        dyn = 1u << 30;/' \
    -e 's/#include "wgmma_ops.cuh"/#include "emu_wgmma_ops.cuh"/' "$cuda/wgmma.cu" > "$work/wgmma.cu"
[ "$(grep -c "emu_smem" "$work/wgmma.cu")" -ge 2 ] || { echo "wgmma.cu no longer matches the emulation's patterns"; exit 3; }
cp "$here/scan_conv_emu.cpp" "$here/gemm_emu.cpp" "$here/ew_emu.cpp" "$here/wgmma_emu.cpp" "$here/emu_mma_ops.cuh" \
   "$here/emu_wgmma_ops.cuh" "$here/emu_gemm_problem.cuh" "$work/"
g++ -std=c++20 -O1 -pthread -w -o "$work/emu" "$work/scan_conv_emu.cpp" &
g++ -std=c++20 -O1 -pthread -w -o "$work/gemm_emu" "$work/gemm_emu.cpp"
wait $!
g++ -std=c++20 -O1 -pthread -w -o "$work/ew_emu" "$work/ew_emu.cpp" &
g++ -std=c++20 -O1 -pthread -w -Wno-psabi -o "$work/wgmma_emu" "$work/wgmma_emu.cpp"
wait $!
"$work/emu"
"$work/gemm_emu"
"$work/ew_emu"
"$work/wgmma_emu"
