#!/usr/bin/env bash
# On the GPU machine (for its 16 cores; no GPU is used): the score job over one large CSV file read whole by one
# task (--split-size above the file's size) against ranges of it read by several tasks (the default 64 MiB
# split size; CsvParts), with the noop backend so that the read, not the model, is what is timed. Carries as
# readme-gpu-run.sh does. Usage (repository root): OUT=$OUT ROWS=40000000 bash benchmarks/device/csv-split-run.sh
set -uo pipefail
R=$PWD
. "$(dirname "$0")/device-env.sh" > /dev/null
cd "$R"
use_launcher
CSV=/tmp/csv-big/big.csv
mkdir -p /tmp/csv-big
python3 - "$CSV" "${ROWS:-40000000}" <<'PY'
import sys, numpy as np
path, rows = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(1)
series = 64
per = rows // series
with open(path, "w") as f:
    f.write("series_id,time,value,label\n")
    for s in range(series):
        t = 1700000000 + 300 * np.arange(per)
        v = rng.normal(90, 3, per)
        f.write("".join(f"s{s},{a},{b:.5f},0\n" for a, b in zip(t.tolist(), v.tolist())))
PY
ls -la "$CSV" | tee "$OUT/csv-runs.txt"
run() {  # name, extra options
  local name=$1; shift
  local t0=$(date +%s%N)
  bin/mamba-pipeline score --input "$CSV" --model models/timeseries --id-column series_id --value-columns value \
    --output "/tmp/csv-out-$name" --overwrite --backend noop --master 'local[16]' "$@" > "$OUT/csv-$name.log" 2>&1
  local rc=$? ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  printf '%-8s rc=%s %6d ms  %s\n' "$name" "$rc" "$ms" "$(grep -E 'CsvParts|planned in|done:|error' "$OUT/csv-$name.log" | cut -c1-200 | tr '\n' ' ')" | tee -a "$OUT/csv-runs.txt"
}
run warmup --split-size 67108864  # writes the class-data archive
for i in 1 2; do
  run "ranges$i"
  run "whole$i" --split-size 1000000000000
done
