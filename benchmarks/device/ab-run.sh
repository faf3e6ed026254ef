#!/usr/bin/env bash
# A/B runs of session 9 (runs 58-65) on the GPU machine, from the repository root with .device/ packed
# (pack.sh): bf16 forwards at 64 and 8 x 2048, default against $ABP (fwd-B-unfused.txt; -Dmamba.cuda.deltaInDtProj=false
# unless ABP is set; runs 58-63 compared fusedConvXProj there), with per-operator profiles; TESTS=1 the
# conv + x_proj GPU test (TESTS_ALL=1 all GPU tests), NCU=1 Nsight on conv_xproj (NCU_W warps), SASS=1 its SASS,
# AB=1 its 4- and 8-warp blocks, PROF8=1 profiles at 8 x 2048 fused and not. Output under $OUT.
set -uo pipefail
. "$(dirname "$0")/device-env.sh"
J=$JAVA_RUN
CP="$D/lib/*"
for b in ${FWD-64 8}; do
  forward_bench "$OUT/prof-$b.txt" $b 2 -Dmamba.cuda.profile=true
  grep -E "tokens_per_s |selectiveScan|dt_proj" "$OUT/prof-$b.txt"
  forward_bench "$OUT/fwd-$b.txt" $b 3
  forward_bench "$OUT/fwd-$b-unfused.txt" $b 3 ${ABP:--Dmamba.cuda.deltaInDtProj=false}
  echo "$b default: $(grep -E '^tokens_per_s ' $OUT/fwd-$b.txt)  ${ABP:--Dmamba.cuda.deltaInDtProj=false}: $(grep -E '^tokens_per_s ' $OUT/fwd-$b-unfused.txt)"
done
if [ -n "${TESTS:-}" ]; then
  gpu_tests 120 --select-method dev.mamba.kernels.cuda.CudaScanGpuTest#convXProjFusedMatchesCpu \
    ${TESTS_ALL:+--select-package dev.mamba.kernels.cuda --select-class dev.mamba.tests.CudaModelTest}
  echo "tests exit $?"; grep -E "✘|tests (successful|failed)" "$OUT/tests.txt"
fi
if [ -n "${NCU:-}" ]; then
  timeout 200 ncu --target-processes all -k regex:mamba_conv_xproj -s 30 -c 1 --set full --import-source yes -o "$OUT/ncu-cxp" \
    $J -Dmamba.cuda.convXProjWarps=${NCU_W:-0} -cp "$CP" dev.mamba.jobs.bench.ForwardBench cuda bf16 64 2048 1 > "$OUT/ncu-log.txt" 2>&1
  ncu --import "$OUT/ncu-cxp.ncu-rep" --page details > "$OUT/ncu-cxp.txt" 2>&1
  ncu --import "$OUT/ncu-cxp.ncu-rep" --page source --csv --print-source sass > "$OUT/ncu-cxp-sass.csv" 2>&1 || \
    ncu --import "$OUT/ncu-cxp.ncu-rep" --page source --csv > "$OUT/ncu-cxp-sass.csv" 2>&1
  head -c 600 "$OUT/ncu-cxp-sass.csv"; echo
  grep -E "Duration|Throughput|Pipe|Bank|Registers|Achieved Occ|Warp Cycles|Issue" "$OUT/ncu-cxp.txt" | head -40
fi
if [ -n "${AB:-}" ]; then
  for w in 4 8; do
    forward_bench "$OUT/prof-64-w$w.txt" 64 2 -Dmamba.cuda.convXProjWarps=$w -Dmamba.cuda.profile=true
    echo "w$w: $(grep -E 'conv1dSiluLinear' $OUT/prof-64-w$w.txt)"
  done
fi
if [ -n "${SASS:-}" ]; then
  (cd /tmp && python3 -c "import zipfile,glob; zipfile.ZipFile(glob.glob('$D/lib/mamba-kernels-*.jar')[0]).extract('dev/mamba/kernels/cuda/mamba_kernels.fatbin')")
  for f in mamba_conv_xproj_bf16_w8_n96 mamba_conv_xproj_bf16_w4_n96; do
    cuobjdump -sass -fun $f /tmp/dev/mamba/kernels/cuda/mamba_kernels.fatbin > "$OUT/$f.sass" 2>&1
    echo "$f: $(grep -cE '^\s+/\*[0-9a-f]{4}\*/' $OUT/$f.sass) instructions"
  done
fi
if [ -n "${PROF8:-}" ]; then
  for f in true false; do
    forward_bench "$OUT/prof-8-$f.txt" 8 2 -Dmamba.cuda.fusedConvXProj=$f -Dmamba.cuda.profile=true
    echo "== 8x2048 fused=$f"; sed -n '/== per-operator profile/,/^sum of/p' "$OUT/prof-8-$f.txt" | head -14
  done
fi
