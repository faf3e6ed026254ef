#!/usr/bin/env bash
# GEMM probes of session 10 on the GPU machine (repository root, .device/ packed by pack.sh). Output under $OUT.
#  NCU=1: Nsight on layer 1's in_proj, dt_proj and out_proj (every GEMM forced to $NCU_GEMM, default wgmma_ws256);
#  LABELS="a b": forwards with every GEMM forced to each label (-Dmamba.cuda.gemm);
#  FWD="64 8": profiled and plain bf16 forwards at these lanes x 2048 (default tuning), and with the JVM flags
#  in ABP if set (an A/B: fwd-B-*.txt, prof-B-*.txt);
#  TESTS=1: the GEMM GPU tests (every wgmma kernel forced, linear in every precision), TESTS_ALL=1 every GPU test.
set -uo pipefail
. "$(dirname "$0")/device-env.sh"
J=$JAVA_RUN
CP="$D/lib/*"
if [ -n "${TESTS:-}" ]; then
  SEL="--select-class dev.mamba.kernels.cuda.CudaOpsGpuTest"
  [ -n "${TESTS_ALL:-}" ] && SEL="--select-package dev.mamba.kernels.cuda --select-class dev.mamba.tests.CudaModelTest"
  gpu_tests 400 $SEL
  echo "tests exit $?"; grep -E "✘|tests (successful|failed|skipped)" "$OUT/tests.txt" | head -20
fi
for b in ${FWD-}; do
  forward_bench "$OUT/prof-$b.txt" $b 2 -Dmamba.cuda.profile=true
  forward_bench "$OUT/fwd-$b.txt" $b 3
  echo "== $b x 2048: $(grep -E '^tokens_per_s ' $OUT/fwd-$b.txt) (profiled run: $(grep -E '^tokens_per_s ' $OUT/prof-$b.txt))"
  grep -E "wgmma check|^cuda: gemm bf16 N=(1536 K=48|3072|768) M=(131072|16384)|^linear" "$OUT/prof-$b.txt" | grep -v INFO | cut -c1-230
  if [ -n "${ABP:-}" ]; then
    forward_bench "$OUT/prof-B-$b.txt" $b 2 $ABP -Dmamba.cuda.profile=true
    forward_bench "$OUT/fwd-B-$b.txt" $b 3 $ABP
    echo "== $b x 2048 with $ABP: $(grep -E '^tokens_per_s ' $OUT/fwd-B-$b.txt)"
  fi
  sed -n '/== per-operator/,/^sum of/p' "$OUT/prof-$b.txt" | cut -c1-60,85-130
  [ -n "${ABP:-}" ] && sed -n '/== per-operator/,/^sum of/p' "$OUT/prof-B-$b.txt" | cut -c1-60,85-130
done
for l in ${LABELS-}; do
  forward_bench "$OUT/prof-64-$l.txt" 64 2 -Dmamba.cuda.gemm=$l -Dmamba.cuda.profile=true
  echo "== gemm $l: $(grep -E '^tokens_per_s ' $OUT/prof-64-$l.txt)"; grep -E "^linear" "$OUT/prof-64-$l.txt" | cut -c1-160
done
if [ -n "${NCU:-}" ]; then
  timeout 300 ncu --clock-control none --target-processes all -k regex:${NCU_K:-mamba_wgmma_ws_bf16_n256} -s ${NCU_SKIP:-79} -c ${NCU_C:-3} --set full --import-source yes -o "$OUT/ncu-gemm" \
    $J -Dmamba.cuda.gemm=${NCU_GEMM:-wgmma_ws256} -Dmamba.cuda.fusedConvXProj=true -cp "$CP" dev.mamba.jobs.bench.ForwardBench cuda bf16 64 2048 1 > "$OUT/ncu-log.txt" 2>&1
  echo "ncu exit $?"
  ncu --import "$OUT/ncu-gemm.ncu-rep" --page details > "$OUT/ncu-gemm.txt" 2>&1
  ncu --import "$OUT/ncu-gemm.ncu-rep" --page raw --csv > "$OUT/ncu-gemm-raw.csv" 2>&1
  ncu --import "$OUT/ncu-gemm.ncu-rep" --page source --csv --print-source sass > "$OUT/ncu-gemm-sass.csv" 2>&1
  # stall samples per SASS opcode (first profiled kernel)
  python3 - "$OUT/ncu-gemm-sass.csv" <<'PY'
import csv, sys, collections
rows = list(csv.reader(open(sys.argv[1], errors="replace")))
hi = next(i for i, r in enumerate(rows) if "Source" in r)
h = rows[hi]
src = h.index("Source")
cols = [i for i, c in enumerate(h) if c.startswith("Warp Stall Sampling (All")]
by = collections.Counter(); tot = 0
for r in rows[hi + 1:]:
    if len(r) <= max(cols + [src]):
        continue
    try:
        v = sum(float(r[i].replace(",", "") or 0) for i in cols)
    except ValueError:
        continue
    op = r[src].strip().split(" ")[0].split(".")[0] if r[src].strip() else "?"
    if op.startswith("@"):
        op = r[src].strip().split(" ")[1].split(".")[0]
    by[op] += v; tot += v
print("stall samples by opcode:", ", ".join(f"{k} {100 * v / tot:.1f}%" for k, v in by.most_common(12)))
PY
  python3 - "$OUT/ncu-gemm-raw.csv" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
head = rows[0]
names = ("gpu__time_duration.sum", "sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active",
         "lts__t_sectors.avg.pct_of_peak_sustained_elapsed", "lts__throughput.avg.pct_of_peak_sustained_elapsed",
         "l1tex__throughput.avg.pct_of_peak_sustained_active", "dram__throughput.avg.pct_of_peak_sustained_elapsed",
         "lts__t_sectors_srcunit_tex.avg.pct_of_peak_sustained_elapsed", "lts__t_sectors_srcunit_ltcfabric.avg.pct_of_peak_sustained_elapsed", "smsp__issue_active.avg.pct_of_peak_sustained_active")
want = [i for i, h in enumerate(head) if h in names]
for r in rows[2:]:
    print(" | ".join(f"{head[i]}={r[i]}" for i in want))
PY
  grep -E "^  mamba|Duration|Throughput|Pipe|Registers|Achieved Occ|Issue Slots|L2 Hit|Bank" "$OUT/ncu-gemm.txt" | head -80
fi
