#!/usr/bin/env bash
# On the GPU machine: the README's own commands through bin/mamba-pipeline (not the bench entry points), with
# .device/ (pack.sh) and .device/spark-{a..e} (pack-spark.sh) carried. The launcher finds its jars where a build
# leaves them (jobs/target/mamba-jobs-*.jar and jobs/target/lib/), so they are put there first; MAMBA_NO_BUILD=1
# because there is no Maven there. Checks that `auto` takes the GPU, that the GPU's embeddings and scores match
# the CPU backend's on the bundled samples, and how long each run takes (the first one writes the class-data archive).
# Usage (repository root): OUT=$OUT bash .device/readme-gpu-run.sh
set -uo pipefail
R=$PWD
. "$(dirname "$0")/device-env.sh" > /dev/null
cd "$R"
use_launcher
run() {  # name, command line...: time, exit status and the log's last lines
  local name=$1; shift
  local t0=$(date +%s%N)
  "$@" > "$OUT/$name.log" 2>&1
  local rc=$? ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  printf '%-12s rc=%s %6d ms  %s\n' "$name" "$rc" "$ms" "$(grep -E 'done:|backend|error' "$OUT/$name.log" | head -3 | tr '\n' ' ' | cut -c1-230)" | tee -a "$OUT/runs.txt"
}
bin/mamba-pipeline info > "$OUT/info.txt" 2>&1; echo "info rc=$?"; cat "$OUT/info.txt"
EMBED="embed --input samples/genomes --chunk-length 2048 --overwrite"
SCORE="score --input samples/timeseries/anomalies_demo.csv --id-column series_id --time-column time --value-columns value --overwrite"
run embed-auto bin/mamba-pipeline $EMBED --output /tmp/demo-auto        # the README command, verbatim
run embed-auto2 bin/mamba-pipeline $EMBED --output /tmp/demo-auto2      # again: maps the archive
run embed-cpu bin/mamba-pipeline $EMBED --output /tmp/demo-cpu --backend cpu
run embed-bf16 bin/mamba-pipeline $EMBED --output /tmp/demo-bf16 --backend cuda --precision bf16
run score-auto bin/mamba-pipeline $SCORE --output /tmp/scores-auto
run score-cpu bin/mamba-pipeline $SCORE --output /tmp/scores-cpu --backend cpu
bin/mamba-pipeline show /tmp/demo-auto --limit 2 2>&1 | cut -c1-300 > "$OUT/show.txt"
python3 - "$OUT/compare.txt" <<'EOF' 2>&1 | tee -a "$OUT/runs.txt"
import sys, json, numpy as np, pandas as pd
out = open(sys.argv[1], "w")
def say(s):
    print(s); out.write(s + "\n")
def emb(d):
    return pd.read_parquet(d + "/embeddings").set_index("sequence_id").sort_index()
cpu = emb("/tmp/demo-cpu")
for name, tol in (("demo-auto", 1e-4), ("demo-bf16", 5e-2)):
    g = emb("/tmp/" + name)
    assert list(g.index) == list(cpu.index), (name, list(g.index))
    assert (g["length"] == cpu["length"]).all(), name
    for col in ("embedding_mean", "embedding_last"):
        a = np.stack(g[col].to_numpy()); b = np.stack(cpu[col].to_numpy())
        rel = np.abs(a - b).max() / np.abs(b).max()
        say(f"{name} vs cpu {col}: max |diff| / max |cpu| = {rel:.2e} over {a.shape} ({'ok' if rel <= tol else 'FAIL'} at {tol:g})")
    sm = json.load(open(f'/tmp/{name}/summary.json'))
    say(f"{name} summary: backend asked {sm['settings'].get('backend')!r}, ran on {[b[:60] for b in sm.get('backends', [])]}")
s_gpu = pd.read_parquet("/tmp/scores-auto/steps").sort_values(["series_id", "step"])
s_cpu = pd.read_parquet("/tmp/scores-cpu/steps").sort_values(["series_id", "step"])
for col in s_cpu.columns:
    if s_cpu[col].dtype.kind == "f":
        a, b = s_gpu[col].to_numpy(), s_cpu[col].to_numpy()
        ok = np.isfinite(b)
        say(f"score steps {col}: max |diff| = {np.abs(a[ok] - b[ok]).max():.2e} (cpu max |x| {np.abs(b[ok]).max():.2e}), nulls equal: {bool((np.isfinite(a) == ok).all())}")
f_gpu = pd.read_parquet("/tmp/scores-auto/series").sort_values("series_id")
f_cpu = pd.read_parquet("/tmp/scores-cpu/series").sort_values("series_id")
say("score series anomalies gpu " + str(list(f_gpu["anomalies"])) + " cpu " + str(list(f_cpu["anomalies"])))
EOF
ls -la jobs/target/cds/ 2>&1 | tail -2 >> "$OUT/runs.txt"
echo "== summary"; cat "$OUT/runs.txt"
