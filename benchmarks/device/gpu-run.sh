#!/usr/bin/env bash
# Runs on the GPU machine from the repository root with .device/ carried: the GPU tests, the kernel
# benchmark, the full-model benchmark in three precisions at two batch sizes, and transformers'
# MambaModel on the same GPU. Details land in $OUT; a short table prints last.
set -uo pipefail
export PYTHONUNBUFFERED=1
D=$PWD/.device
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
cd "$D"
[ -d jre ] || tar xf jre.tar.xz
J="$D/jre/bin/java -XX:+IgnoreUnrecognizedVMOptions --add-modules=jdk.incubator.vector --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED -Dio.netty.tryReflectionSetAccessible=true --enable-native-access=ALL-UNNAMED -Xmx24g"
CP="$D/lib/*"
# The JUnit launcher does not expand "dir/*": list the jars.
TCP=$(ls "$D"/lib/*.jar | tr '\n' ':')
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm --format=csv | tee "$OUT/gpu.txt"
step=${1:-all}
if [ "$step" = all ] || [ "$step" = tests ]; then
  echo "== GPU tests"
  timeout 300 $J -jar junit-console.jar execute --class-path "$TCP$D/classes/kernels-test:$D/classes/tests-test" \
    --select-package dev.mamba.kernels.cuda --select-class dev.mamba.tests.CudaModelTest \
    --details=tree --disable-banner --reports-dir "$OUT/junit" 2>&1 | tail -n 150 | tee "$OUT/tests.txt"
fi
if [ "$step" = all ] || [ "$step" = bench ]; then
  echo "== kernel bench"
  timeout 240 $J -cp "$CP" dev.mamba.kernels.bench.CudaKernelBench --out "$OUT/bench.jsonl" 2>&1 | tee "$OUT/kernel-bench.txt"
  echo "== model bench"
  for p in fp32 tf32 bf16; do
    for b in 8 64; do
      timeout 120 $J -cp "$CP" dev.mamba.jobs.bench.ForwardBench cuda $p $b 2048 3 "$OUT/bench.jsonl" 2>&1 | grep -E "tokens_per_s|gemm_gflops|forward_s|Exception|rror" | sed "s/^/[$p $b] /"
    done
  done | tee "$OUT/model-bench.txt"
  echo "== transformers"
  timeout 240 python3 hf_mamba_bench.py "$OUT/bench.jsonl" 2>&1 | grep -v Warning | tail -5
fi
