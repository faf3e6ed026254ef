# Sourced by the GPU-machine scripts (perf-run.sh, ab-run.sh, spark-gpu-run.sh), from the repository root
# with .device/ carried (pack.sh copies this file there too): D (.device), OUT (created), the jlink'd JRE
# unpacked, and cd "$D". JAVA_RUN: java with the flags the Java-only runs need (Spark's scripts add their own).
D=$PWD/.device
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
cd "$D"
[ -d jre ] || tar xf jre.tar.xz
JAVA_RUN="$D/jre/bin/java -XX:+IgnoreUnrecognizedVMOptions --add-modules=jdk.incubator.vector --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED -Dio.netty.tryReflectionSetAccessible=true --enable-native-access=ALL-UNNAMED -Xmx24g"
