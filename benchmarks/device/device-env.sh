# Sourced by the GPU-machine scripts (perf-run.sh, ab-run.sh, spark-gpu-run.sh), from the repository root
# with .device/ carried (pack.sh copies this file there too): D (.device), OUT (created), the jlink'd JRE
# unpacked, and cd "$D". JAVA_RUN: java with the flags the Java-only runs need (Spark's scripts add their own).
D=$PWD/.device
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
cd "$D"
[ -d jre ] || tar xf jre.tar.xz
JAVA_RUN="$D/jre/bin/java -XX:+IgnoreUnrecognizedVMOptions --add-modules=jdk.incubator.vector,jdk.incubator.foreign --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED -Dio.netty.tryReflectionSetAccessible=true --enable-native-access=ALL-UNNAMED -Xmx24g"
# Spark 4 on JDK 17 needs its launcher's --add-opens (JavaModuleOptions); the incubator modules as above
SPARK_OPENS="--add-modules=jdk.incubator.vector,jdk.incubator.foreign --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED --add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED -Djdk.reflect.useDirectMethodHandle=false -Dio.netty.tryReflectionSetAccessible=true --enable-native-access=ALL-UNNAMED"
# The GPU tests the JUnit selectors "$@" pick, after a timeout in seconds ($1); the tree report goes to $OUT/tests.txt.
gpu_tests() {
  local t=$1; shift
  timeout "$t" $JAVA_RUN -jar "$D/junit-console.jar" execute \
    --class-path "$(ls "$D"/lib/*.jar | tr '\n' ':')$D/classes/kernels-test:$D/classes/tests-test" "$@" \
    --details=tree --disable-banner > "$OUT/tests.txt" 2>&1
}
# A bf16 ForwardBench into file $1: $2 lanes x 2048 steps, $3 timed calls, JVM flags "${@:4}".
forward_bench() {
  local out=$1 lanes=$2 reps=$3; shift 3
  timeout 90 $JAVA_RUN "$@" -cp "$D/lib/*" dev.mamba.jobs.bench.ForwardBench cuda bf16 "$lanes" 2048 "$reps" > "$out" 2>&1
}
# GPU tests that start Spark (the Spark jars of pack-spark.sh on the classpath): selectors "$@" after a timeout
# in seconds ($1); the tree report goes to $OUT/tests.txt.
spark_gpu_tests() {
  local t=$1; shift
  # everything on the application class path (Spark's generated code and its serializers look there)
  timeout "$t" "$D/jre/bin/java" $SPARK_OPENS -Xmx24g -Dlog4j2.configurationFile="$D/log4j2.properties" \
    -cp "$D/junit-console.jar:$(ls "$D"/lib/*.jar "$D"/spark-[a-e]/*.jar | grep -v slf4j-simple | tr '\n' ':')$D/classes/tests-test" \
    org.junit.platform.console.ConsoleLauncher execute "$@" --details=tree --disable-banner > "$OUT/tests.txt" 2>&1
}
# For runs through bin/mamba-pipeline (from the repository root): its jars where a build leaves them
# (jobs/target/mamba-jobs-*.jar and jobs/target/lib/), the JRE, no build (there is no Maven there), and the JRE's
# base class-data archive, on top of which the launcher writes its own.
use_launcher() {
  mkdir -p jobs/target/lib
  local j
  for j in "$D"/lib/*.jar "$D"/spark-[a-e]/*.jar; do
    case "$(basename "$j")" in
      mamba-jobs-*) cp "$j" jobs/target/ ;;
      slf4j-simple-*) ;;  # would take over from Spark's log4j2 binding
      *) cp "$j" jobs/target/lib/ ;;
    esac
  done
  export JAVA_HOME="$D/jre" MAMBA_NO_BUILD=1
  [ -f "$D/jre/lib/server/classes.jsa" ] || "$D/jre/bin/java" -Xshare:dump > /dev/null 2>&1
}
