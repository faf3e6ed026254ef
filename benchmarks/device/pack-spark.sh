#!/usr/bin/env bash
# Packs the Spark runtime jars the embed job loads (measured with -verbose:class on a local run: 78 jars,
# ~156 MB) into five folders of < 36 MB each, .device/spark-a … -e, so five device calls can
# carry them one after the other (what a call carries stays on the machine while it is warm).
set -euo pipefail
cd "$(dirname "$0")/../.."
LIST=benchmarks/device/spark-jars.txt
rm -rf .device/spark-?
mkdir -p .device/spark-a .device/spark-b .device/spark-c .device/spark-d .device/spark-e
# Each folder stays under 36 MB: a call carries it plus the ~27 MB working tree (64 MiB at most).
total=0
for j in $(cat $LIST); do
  f=jobs/target/lib/$j
  [ -f "$f" ] || { echo "missing $f (run mvn -DskipTests package -pl jobs -am)"; exit 1; }
  # skip what .device/lib already has
  [ -f ".device/lib/$j" ] && continue
  s=$(stat -c %s "$f")
  for d in a b c d e; do
    used=$(du -sb .device/spark-$d | cut -f1)
    if [ $((used + s)) -lt 36000000 ]; then cp "$f" .device/spark-$d/; break; fi
  done
done
du -sh .device/spark-*
