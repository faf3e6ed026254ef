#!/usr/bin/env bash
# Packs the Spark runtime jars the embed job loads (measured with -verbose:class on a local run: 78 jars,
# ~156 MB) into three folders of < 60 MB each, .device/spark-a, -b, -c, so three device calls can
# carry them one after the other (what a call carries stays on the machine while it is warm).
set -euo pipefail
cd "$(dirname "$0")/../.."
LIST=benchmarks/device/spark-jars.txt
rm -rf .device/spark-a .device/spark-b .device/spark-c
mkdir -p .device/spark-a .device/spark-b .device/spark-c
total=0
for j in $(cat $LIST); do
  f=jobs/target/lib/$j
  [ -f "$f" ] || { echo "missing $f (run mvn -DskipTests package -pl jobs -am)"; exit 1; }
  # skip what .device/lib already has
  [ -f ".device/lib/$j" ] && continue
  s=$(stat -c %s "$f")
  if [ $total -lt 55000000 ]; then d=a; elif [ $total -lt 110000000 ]; then d=b; else d=c; fi
  cp "$f" .device/spark-$d/
  total=$((total + s))
done
du -sh .device/spark-*
