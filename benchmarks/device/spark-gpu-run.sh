#!/usr/bin/env bash
# On the GPU machine, with .device/ (pack.sh) and .device/spark-{a,b,c} (pack-spark.sh) carried: the embed
# job in local mode on the GPU over a synthetic genome with the 130m-shaped model, against the forward
# pass alone at the same batch (issue: the job should reach >= 90 % of it).
set -uo pipefail
D=$PWD/.device
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
cd "$D"
[ -d jre ] || tar xf jre.tar.xz
OPENS="--add-modules=jdk.incubator.vector --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED --add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED -Djdk.reflect.useDirectMethodHandle=false -Dio.netty.tryReflectionSetAccessible=true --enable-native-access=ALL-UNNAMED"
J="$D/jre/bin/java $OPENS -Xmx48g -Dlog4j2.configurationFile=$D/log4j2.properties"
CP="$D/lib/*:$D/spark-a/*:$D/spark-b/*:$D/spark-c/*:$D/spark-d/*"
BASES=${BASES:-40000000}
for p in ${PRECISIONS:-bf16}; do
  echo "== forward alone, $p 64x2048"
  timeout 120 $J -cp "$CP" dev.mamba.jobs.bench.ForwardBench cuda $p 64 2048 3 "$OUT/spark-bench.jsonl" 2>&1 | grep -E "tokens_per_s|Exception"
  echo "== embed job, local[4], $p, lanes 64, batch tokens 131072"
  timeout 400 $J -cp "$CP" dev.mamba.jobs.cli.Main bench pipeline --shape 130m --backends cuda --precision $p \
    --lanes 64 --batch-tokens 131072 --chunk-length 2048 --bases $BASES --records 1024 --master 'local[4]' \
    --work /tmp/mamba-bench --out "$OUT/spark-bench.jsonl" 2>&1 | grep -vE "WARN|^\s+at " | tail -8
done
cat "$OUT/spark-bench.jsonl"
