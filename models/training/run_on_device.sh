#!/usr/bin/env bash
# The one script to run on the GPU machine, from the repository root (nothing else to carry: the data it reads is
# committed under models/data/ and samples/):
#
#     OUT=/some/dir bash models/training/run_on_device.sh
#
# Trains the three models in sequence, each for a wall-clock budget in seconds (defaults: DNA 115, time series 100,
# audio 70 = 285 s of training; each stage also evaluates, about 10-40 s), writes models/<name>/{config.json,
# model.safetensors, vocab.json (dna), metrics.json, MODEL_CARD.md (numbers filled in)} into $OUT/models.tgz, the
# stage logs into $OUT/<name>.log and the tables into $OUT/summary.md, and prints the tables last.
# Needs python3 with torch (CUDA), numpy; safetensors is used when installed.
#
# Knobs (environment): DNA_BUDGET TS_BUDGET AUDIO_BUDGET (seconds), DNA_ARGS TS_ARGS AUDIO_ARGS (extra flags),
# STAGES (default "dna timeseries audio"), PYTHON (default python3), TORCH_DEVICE (default: cuda if available).
# A failed or timed-out stage does not stop the others; the script exits 1 at the end if any failed.
set -euo pipefail
export PYTHONUNBUFFERED=1
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUT=${OUT:?set OUT to the output directory}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
DNA_BUDGET=${DNA_BUDGET:-115}
TS_BUDGET=${TS_BUDGET:-100}
AUDIO_BUDGET=${AUDIO_BUDGET:-70}
STAGES=${STAGES:-dna timeseries audio}
T0=$(date +%s)

echo "== $(date -u +%FT%TZ) $(hostname) in $(pwd)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$PY" -c 'import sys, torch, numpy; print("python", sys.version.split()[0], "torch", torch.__version__, "numpy", numpy.__version__, "cuda", torch.cuda.is_available())'
if [ "${TORCH_DEVICE:-}" != cpu ]; then
  "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "no CUDA device visible to torch (set TORCH_DEVICE=cpu to run on the CPU)")'
fi

failed=()
run_stage() {  # name budget grace script extra-args...
  local name=$1 budget=$2 grace=$3 script=$4
  shift 4
  echo
  echo "== stage $name: budget ${budget}s (+${grace}s for start-up and evaluation), $(($(date +%s) - T0))s elapsed"
  local rc=0
  timeout -k 10 $((budget + grace)) "$PY" "models/training/$script" --budget "$budget" --out "models/$name" "$@" \
    2>&1 | tee "$OUT/$name.log" || rc=$?
  if [ "$rc" != 0 ] || [ ! -f "models/$name/metrics.json" ]; then
    echo "!! stage $name failed (exit $rc); see $OUT/$name.log"
    failed+=("$name")
  fi
}

for s in $STAGES; do
  case $s in
    dna) run_stage dna "$DNA_BUDGET" 75 train_dna.py ${DNA_ARGS:-} ;;
    timeseries) run_stage timeseries "$TS_BUDGET" 75 train_timeseries.py ${TS_ARGS:-} ;;
    audio) run_stage audio "$AUDIO_BUDGET" 45 train_audio.py ${AUDIO_ARGS:-} ;;
    *) echo "unknown stage $s"; exit 2 ;;
  esac
done

echo
"$PY" models/training/summarize.py --fill > "$OUT/summary.md" || echo "!! summarize failed"
dirs=()
for s in dna timeseries audio; do
  [ -f "models/$s/model.safetensors" ] && dirs+=("models/$s")
done
if [ ${#dirs[@]} -gt 0 ]; then
  tar czf "$OUT/models.tgz" "${dirs[@]}"
  echo "== packed ${dirs[*]} into $OUT/models.tgz ($(du -h "$OUT/models.tgz" | cut -f1)); unpack at the repo root: tar xzf models.tgz"
fi
echo "== total $(($(date +%s) - T0))s"
echo
cat "$OUT/summary.md" 2>/dev/null || true
if [ ${#failed[@]} -gt 0 ]; then
  echo "!! failed stages: ${failed[*]}"
  exit 1
fi
