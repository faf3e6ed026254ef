#!/usr/bin/env bash
# On the GPU machine, with .device/ (pack.sh) and .device/spark-{a..e} (pack-spark.sh) carried: the embed
# job in local mode on the GPU over a synthetic genome with the 130m-shaped model, against the forward
# pass alone at the same batch (issue: the job should reach >= 90 % of it).
set -uo pipefail
. "$(dirname "$0")/device-env.sh"
J="$D/jre/bin/java $SPARK_OPENS -Xmx48g -Dlog4j2.configurationFile=$D/log4j2.properties"
# every jar but slf4j-simple (pack.sh adds it for the runs without Spark; here it would take over from
# Spark's log4j2 binding, and the log configuration below would be ignored)
CP=$(ls "$D"/lib/*.jar "$D"/spark-[a-e]/*.jar | grep -v slf4j-simple | tr '\n' ':')
BASES=${BASES:-40000000}
# 1020 records in the bench's 8 splits: 127 or 128 per split, at most two rounds of 64 lanes. (1024 put split
# boundaries on record starts, so byte rounding gave one split 129 records and a third round with one lane
# busy: run 42, that task took 58.6 s against 44-47 s.)
RECORDS=${RECORDS:-1020}
TL=/tmp/log4j2-timeline.properties  # the job's log config plus Spark's task starts and ends
sed 's/%d{HH:mm:ss}/%d{HH:mm:ss.SSS}/' "$D/log4j2.properties" > "$TL"
printf 'logger.tsm.name = org.apache.spark.scheduler.TaskSetManager\nlogger.tsm.level = info\n' >> "$TL"
printf 'logger.dag.name = org.apache.spark.scheduler.DAGScheduler\nlogger.dag.level = info\n' >> "$TL"
printf 'logger.pd.name = dev.mamba.jobs.spark.PartitionDriver\nlogger.pd.level = debug\n' >> "$TL"
# the GPU's load, clocks, power and throttle reasons every 200 ms while everything below runs
nvidia-smi --query-gpu=timestamp,utilization.gpu,clocks.sm,clocks.mem,power.draw,temperature.gpu,clocks_throttle_reasons.active \
  --format=csv -lms 200 > "$OUT/gpu-trace.csv" 2>&1 &
SMI=$!
# class-data sharing as bin/mamba-pipeline does it: the jlink'd JRE needs its base archive first, then one
# (short) job run writes the application archive that the measured run maps
CDS=${CDS:-1}
JSA=/tmp/mamba-bench.jsa
if [ "$CDS" = 1 ]; then
  # (both JDK base archives: -Xmx48g runs without compressed oops, which maps classes_nocoops.jsa)
  [ -f "$D/jre/lib/server/classes.jsa" ] || "$D/jre/bin/java" -Xshare:dump > /dev/null 2>&1
  [ -f "$D/jre/lib/server/classes_nocoops.jsa" ] || "$D/jre/bin/java" -XX:-UseCompressedOops \
    -XX:SharedArchiveFile="$D/jre/lib/server/classes_nocoops.jsa" -Xshare:dump > /dev/null 2>&1
fi
job() {  # precision, bases, log file, extra JVM options
  timeout 400 $J $4 -Dlog4j2.configurationFile=$TL -cp "$CP" dev.mamba.jobs.cli.Main bench pipeline --shape 130m --backends cuda --precision $1 \
    --lanes 64 --batch-tokens 131072 --chunk-length 2048 --bases $2 --records $RECORDS --master 'local[4]' \
    --work /tmp/mamba-bench --out "$OUT/spark-bench.jsonl" > "$3" 2>&1
}
for p in ${PRECISIONS:-bf16}; do
  echo "== forward alone, $p 64x2048"
  timeout 120 $J -cp "$CP" dev.mamba.jobs.bench.ForwardBench cuda $p 64 2048 3 "$OUT/spark-bench.jsonl" 2>&1 | grep -E "tokens_per_s|Exception"
  if [ -n "${SUSTAIN:-}" ]; then
    echo "== forward alone, $p 64x2048, $SUSTAIN calls back to back (sustained load)"
    timeout 200 $J -cp "$CP" dev.mamba.jobs.bench.ForwardBench cuda $p 64 2048 $SUSTAIN "$OUT/spark-bench.jsonl" 2>&1 | grep -E "tokens_per_s|Exception"
  fi
  if [ "$CDS" = 1 ]; then
    echo "== class-data archive from a short job run"
    rm -f $JSA
    job $p 8000000 /tmp/cds-dump.log "-XX:ArchiveClassesAtExit=$JSA -Xlog:cds=off -Xlog:cds+dynamic=off"
    ls -la $JSA | cut -c1-120
  fi
  echo "== embed job, local[4], $p, lanes 64, batch tokens 131072"
  # the whole log (Spark's task starts and ends included, timestamped) goes to $OUT: where the job's time
  # beyond the forward goes
  for i in $(seq 1 ${JOB_RUNS:-1}); do
    L="$OUT/spark-job-$p$([ $i -gt 1 ] && echo "-$i").log"
    job $p $BASES "$L" "$([ "$CDS" = 1 ] && echo "-XX:SharedArchiveFile=$JSA -Xshare:auto")"
    grep -vE "^\s+at " "$L" | grep -E "INFO|steps|Exception|rror" | grep -vE "TaskSetManager|DAGScheduler" | cut -c1-200 | tail -12
    grep PartitionDriver "$L" | cut -c1-200
  done
  if [ "$CDS" = 1 ] && [ "${CDS_AB:-0}" = 1 ]; then
    echo "== the same without the class-data archive"
    job $p $BASES "$OUT/spark-job-$p-nocds.log" ""
    grep -E "planned in|seconds=" "$OUT/spark-job-$p-nocds.log" | cut -c1-200
  fi
done
kill $SMI 2>/dev/null
cat "$OUT/spark-bench.jsonl"
