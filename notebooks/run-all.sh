#!/usr/bin/env bash
# Executes every notebook here headless and fails on the first cell error.
#   notebooks/run-all.sh                  executed copies replace the notebooks (outputs committed with them)
#   notebooks/run-all.sh --output-dir D   executed copies go to D, the notebooks stay as they are (CI)
# Needs Debian's jupyter-nbconvert, python3-ipykernel, python3-pandas, python3-matplotlib, plus JDK and Maven
# for bin/mamba-pipeline. NOTEBOOK_TIMEOUT: seconds per notebook (default 600); CELL_TIMEOUT: per cell (300).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT_DIR=""
if [ "${1:-}" = "--output-dir" ]; then
  OUT_DIR=$(mkdir -p "$2" && cd "$2" && pwd)
  shift 2
fi
NOTEBOOK_TIMEOUT=${NOTEBOOK_TIMEOUT:-600}
CELL_TIMEOUT=${CELL_TIMEOUT:-300}
command -v jupyter-nbconvert >/dev/null || { echo "run-all.sh: jupyter-nbconvert not found (apt-get install jupyter-nbconvert python3-ipykernel python3-pandas python3-matplotlib)" >&2; exit 2; }
# Build once up front (bin/mamba-pipeline builds when the jars are missing or stale), outside the cell timeouts;
# the cluster notebook also needs the assembly jar, which the same package step makes.
"$HERE/../bin/mamba-pipeline" info >/dev/null
# the kernel draws inline (MPLBACKEND must stay unset: Agg would make plt.show() a no-op)
unset MPLBACKEND
export PYDEVD_DISABLE_FILE_VALIDATION=1
export MAMBA_NO_BUILD=1
status=0
notebooks=("$@")
if [ ${#notebooks[@]} -eq 0 ]; then
  notebooks=("$HERE"/*.ipynb)
fi
for nb in "${notebooks[@]}"; do
  name=$(basename "$nb")
  t0=$(date +%s)
  if [ -n "$OUT_DIR" ]; then
    target=(--output-dir "$OUT_DIR" --output "$name")
  else
    target=(--inplace)
  fi
  if timeout --kill-after=30 "$NOTEBOOK_TIMEOUT" jupyter-nbconvert --to notebook --execute \
      --ExecutePreprocessor.timeout="$CELL_TIMEOUT" --ExecutePreprocessor.kernel_name=python3 \
      "${target[@]}" "$nb"; then
    echo "run-all.sh: $name ok in $(( $(date +%s) - t0 )) s" >&2
  else
    rc=$?
    echo "run-all.sh: $name FAILED (exit $rc$([ $rc = 124 ] && echo ", over ${NOTEBOOK_TIMEOUT} s")) after $(( $(date +%s) - t0 )) s" >&2
    status=1
  fi
done
exit $status
