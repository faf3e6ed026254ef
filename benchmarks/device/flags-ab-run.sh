#!/usr/bin/env bash
# Session 11 (runs 80-): A/B of JVM flag sets on the GPU machine (repository root, .device/ packed by pack.sh).
# OPTS: flag sets separated by ';' (an empty set = the defaults), labelled 0, 1, ...: a profiled bf16 forward at
# LANES (default 64) x 2048 each, then ROUNDS (default 2) rounds of plain forwards, the sets alternating within a
# round. TESTS="selectors" first runs those GPU tests (JUnit console selectors), TESTS_ALL=1 every GPU test.
# Output under $OUT.
set -uo pipefail
. "$(dirname "$0")/device-env.sh"
[ -n "${TESTS_ALL:-}" ] && TESTS="--select-package dev.mamba.kernels.cuda --select-class dev.mamba.tests.CudaModelTest"
if [ -n "${TESTS:-}" ]; then
  gpu_tests 400 $TESTS
  echo "tests exit $?"; grep -E "✘|tests (successful|failed|skipped)" "$OUT/tests.txt" | head -20
fi
IFS=';' read -r -a SETS <<< "${OPTS:-}"
[ ${#SETS[@]} -eq 0 ] && SETS=("")
L=${LANES:-64}
for i in "${!SETS[@]}"; do
  forward_bench "$OUT/prof-$i.txt" $L 2 ${SETS[$i]} -Dmamba.cuda.profile=true
  echo "== [$i] ${SETS[$i]:-defaults} profiled: $(grep -E '^tokens_per_s ' $OUT/prof-$i.txt)"
  grep -E '^(conv1dSiluLinear|linear layers|selectiveScan)' $OUT/prof-$i.txt | cut -c1-60,85-130
  grep -E 'wgmma check|cuda: gemm' $OUT/prof-$i.txt | sed 's/.*cuda: /  /' | cut -c1-400
done
for r in $(seq 1 ${ROUNDS:-2}); do
  for i in "${!SETS[@]}"; do
    forward_bench "$OUT/fwd-$i-$r.txt" $L 3 ${SETS[$i]}
    echo "== round $r [$i]: $(grep -E '^tokens_per_s ' $OUT/fwd-$i-$r.txt)"
  done
done
sed -n '/== per-operator/,/^sum of/p' "$OUT/prof-0.txt" | cut -c1-60,85-130
