#!/usr/bin/env bash
# Spark GPU discovery script (spark.{executor,worker}.resource.gpu.discoveryScript): prints the visible
# NVIDIA GPUs as Spark's ResourceInformation JSON, e.g. {"name": "gpu", "addresses": ["0","1"]}.
# No nvidia-smi, no driver or no GPU: an empty address list (Spark then refuses executors that ask for GPUs).
# Addresses are nvidia-smi's physical indices and the job opens them as CUDA device numbers: do not also
# narrow the executors with CUDA_VISIBLE_DEVICES (the numbering would shift).
set -u
addresses=""
if command -v nvidia-smi >/dev/null 2>&1; then
  if out=$(nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null); then
    while IFS= read -r line; do
      idx=$(printf '%s' "$line" | tr -d '[:space:]')
      # Only plain indices: error text such as "No devices were found" must not become an address.
      case "$idx" in
        ''|*[!0-9]*) continue ;;
      esac
      addresses="${addresses:+$addresses,}\"$idx\""
    done <<< "$out"
  fi
fi
printf '{"name": "gpu", "addresses": [%s]}\n' "$addresses"
