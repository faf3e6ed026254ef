#!/usr/bin/env bash
# Kernel probe run for the GPU machine (no Java): times the batch-8 scan shapes (the production kernels and
# any A/B variants that benchmarks/device/scan-variants.py compiled in) and the GEMM shapes, profiles the
# bf16 scan kernels (p4 and warp-specialised) with Nsight Compute (instruction count, pipe use, stall
# reasons) and dumps their SASS. PROBE_SCAN=scan adds the long lanes, PROBE_GEMM=0 skips GEMM and conv,
# PROBE_SRC=regex adds Nsight source counters of that kernel ($OUT/src.csv).
# Carry [".device/probe"] (built here: nvcc -O3 -std=c++17 -arch=sm_90a -lineinfo -I kernels/src/main/cuda
# -o .device/probe benchmarks/device/kernel_probe.cu; xz -k .device/probe: carry .device/probe.xz). Logs land in $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
P=$PWD/.device/probe
[ -x "$P" ] || xz -dk "$P.xz"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,power.draw --format=csv > "$OUT/probe.txt"
timeout 300 "$P" ${PROBE_SCAN:-scan8} >> "$OUT/probe.txt" 2>&1 || echo "exit $? (scan)" >> "$OUT/probe.txt"
if [ "${PROBE_GEMM:-1}" = 1 ]; then
  timeout 120 "$P" gemm >> "$OUT/probe.txt" 2>&1 || echo "exit $? (gemm)" >> "$OUT/probe.txt"
  timeout 60 "$P" conv >> "$OUT/probe.txt" 2>&1 || echo "exit $? (conv)" >> "$OUT/probe.txt"
fi
NCU=$(command -v ncu || ls /usr/local/cuda*/bin/ncu 2>/dev/null | head -1)
if [ -n "$NCU" ]; then
  timeout 150 "$NCU" --clock-control none --kernel-name regex:'scan_bf16_n16_p4_(ws4?_(r48_)?)?main' --launch-count 4 \
    --section SpeedOfLight --section ComputeWorkloadAnalysis --section WarpStateStats --section SchedulerStats \
    --section InstructionStats --section Occupancy \
    --metrics sm__inst_executed_pipe_xu.avg.pct_of_peak_sustained_active,smsp__inst_executed.sum,sm__cycles_elapsed.avg.per_second \
    "$P" --once scan8 > "$OUT/ncu-scan.txt" 2>&1 || echo "exit $? (ncu)" >> "$OUT/ncu-scan.txt"
  if [ -n "${PROBE_SRC:-}" ]; then  # per-instruction executed counts and stall samples of kernel regex $PROBE_SRC
    timeout 150 "$NCU" --clock-control none --kernel-name regex:"$PROBE_SRC" --launch-count 1 --section SourceCounters \
      -o /tmp/probe-src -f "$P" --once scan8 > /dev/null 2>&1
    "$NCU" --import /tmp/probe-src.ncu-rep --page source --csv --print-source sass > "$OUT/src.csv" 2>&1
  fi
fi
OBJ=$(command -v cuobjdump || ls /usr/local/cuda*/bin/cuobjdump 2>/dev/null | head -1)
if [ -n "$OBJ" ]; then
  "$OBJ" -sass -fun mamba_scan_bf16_n16_p4_main "$P" > "$OUT/sass-scan-bf16.txt" 2>&1
  "$OBJ" -sass -fun mamba_scan_bf16_n16_p4_ws_main "$P" > "$OUT/sass-scan-bf16-ws.txt" 2>&1
  "$OBJ" -sass -fun mamba_scan_bf16_n16_p4_ws4_main "$P" > "$OUT/sass-scan-bf16-ws4.txt" 2>&1
fi
echo "== probe"
grep -E "^(copy|scan|gemm|conv|exit)" "$OUT/probe.txt"
echo "== ncu"
grep -E "mamba_scan|scanv|Duration|Executed Ipc A|Issue Slots Busy|Issued Warp|pipe_xu|inst_executed.sum|per_second|Stall|Active Warps Per Scheduler|Eligible Warps|No Eligible|Achieved Occupancy" "$OUT/ncu-scan.txt" | head -60
echo "== sass lines: $(grep -c '^ */\*[0-9a-f]*\*/' "$OUT/sass-scan-bf16.txt" 2>/dev/null)"
