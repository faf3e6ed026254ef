#!/usr/bin/env bash
# Compiles the CUDA sources into the fatbins that the jar carries as resources: all.cu (every kernel, one
# translation unit) with SASS for sm_80, sm_86, sm_89 and sm_90 plus compute_90 PTX for later
# architectures; sm90a.cu (the Hopper-only wgmma GEMMs and the setmaxnreg scan pass) for sm_90a.
# Without nvcc the build still succeeds: we write the reason next to where the fatbin would be, and the
# CUDA backend reports it when asked for.
set -euo pipefail
src=$1; out=$2
mkdir -p "$out"
fatbin="$out/mamba_kernels.fatbin"; reason="$out/mamba_kernels.unavailable"
wgmma="$out/mamba_wgmma.fatbin"
nvcc_bin=${NVCC:-$(command -v nvcc || true)}
[ -z "$nvcc_bin" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc_bin=/usr/local/cuda/bin/nvcc
if [ -z "$nvcc_bin" ]; then
  rm -f "$fatbin" "$wgmma"
  echo "the jar was built without nvcc on PATH, so it carries no CUDA kernels" > "$reason"
  echo "[build-fatbin] nvcc not found: CUDA kernels not built"
  exit 0
fi
shopt -s nullglob
sources=("$src"/*.cu)
if [ ${#sources[@]} -eq 0 ]; then
  echo "no CUDA sources under $src" > "$reason"; rm -f "$fatbin" "$wgmma"; exit 0
fi
# Rebuild only when a source or header is newer than the fatbin (nvcc takes a while).
if [ -f "$fatbin" ] && [ -f "$wgmma" ]; then
  stale=0
  for f in "$src"/*.cu "$src"/*.cuh "$0"; do [ "$f" -nt "$fatbin" ] && stale=1; done
  [ $stale -eq 0 ] && { echo "[build-fatbin] up to date"; exit 0; }
fi
rm -f "$reason"
archs="-gencode=arch=compute_80,code=sm_80 -gencode=arch=compute_86,code=sm_86 -gencode=arch=compute_89,code=sm_89 -gencode=arch=compute_90,code=sm_90 -gencode=arch=compute_90,code=compute_90"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# One translation unit: all.cu includes every kernel file so the fatbin is a single module.
echo "[build-fatbin] $nvcc_bin -> $fatbin"
# The Hopper-only kernels are a separate module for sm_90a alone, so the big module is not compiled a
# fourth time; it builds in the background while the main module builds (--threads 0: one ptxas per
# target in parallel; the build machines have 2 cores).
"$nvcc_bin" --fatbin -O3 -std=c++17 -lineinfo -gencode=arch=compute_90a,code=sm_90a ${NVCC_EXTRA:-} \
  -o "$tmp/w.fatbin" "$src/sm90a.cu" & wpid=$!
"$nvcc_bin" --fatbin -O3 -std=c++17 -lineinfo --threads 0 $archs ${NVCC_EXTRA:-} -o "$tmp/k.fatbin" "$src/all.cu"
wait $wpid
mv "$tmp/k.fatbin" "$fatbin"
mv "$tmp/w.fatbin" "$wgmma"
