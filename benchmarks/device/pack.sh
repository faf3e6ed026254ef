#!/usr/bin/env bash
# Packs what the GPU machine needs into .device/ (git-ignored; name it in the device call's carry):
# a jlink'd JRE, the runtime jars without Spark, the JUnit console launcher and the test classes.
# Usage: benchmarks/device/pack.sh      (after: mvn -q -DskipTests package -pl jobs -am; mvn -q test-compile)
set -euo pipefail
cd "$(dirname "$0")/../.."
D=.device
mkdir -p $D/lib $D/classes
if [ ! -f $D/jre.tar.xz ]; then
  rm -rf /tmp/mamba-jre
  jlink --add-modules java.base,java.compiler,java.datatransfer,java.desktop,java.instrument,java.logging,java.management,java.management.rmi,java.naming,java.net.http,java.prefs,java.rmi,java.scripting,java.security.jgss,java.security.sasl,java.sql,java.sql.rowset,java.transaction.xa,java.xml,java.xml.crypto,jdk.crypto.ec,jdk.incubator.vector,jdk.incubator.foreign,jdk.jfr,jdk.management,jdk.net,jdk.unsupported,jdk.zipfs,jdk.httpserver,jdk.security.auth,jdk.security.jgss \
    --strip-debug --no-man-pages --no-header-files --output /tmp/mamba-jre/jre
  tar cf - -C /tmp/mamba-jre jre | xz -T2 -9e > $D/jre.tar.xz
fi
rm -f $D/lib/*.jar
# Runtime jars of the model and kernels (no Spark): arrow, jackson, netty buffers, jcuda, slf4j.
for j in jobs/target/lib/*.jar; do
  case "$(basename "$j")" in
    arrow-*|jackson-annotations*|jackson-core*|jackson-databind*|jcuda-*|mamba-*|netty-buffer*|netty-common*|slf4j-api*|picocli*|commons-compress*) cp "$j" $D/lib/ ;;
  esac
done
cp jobs/target/mamba-jobs-*[0-9T].jar $D/lib/
# The built-in models (~6 MB) are not used there (benchmarks and GPU tests use random and fixture weights);
# dropping them from this copy keeps the tree plus .device under the 64 MiB a call carries.
zip -q -d $D/lib/mamba-jobs-*[0-9T].jar 'dev/mamba/models/*' || true
# JCuda's natives jar carries a 24 MB PTX-compiler binding we never load: keep the driver/runtime ones
# (the whole device tree must stay under the 64 MiB a call carries).
N=$(ls $D/lib/jcuda-natives-*.jar)
rm -rf /tmp/mamba-jn && mkdir -p /tmp/mamba-jn && (cd /tmp/mamba-jn && unzip -q "$OLDPWD/$N" && rm -f lib/libJNvPTXCompiler-* && rm -f "$OLDPWD/$N" && zip -qr "$OLDPWD/$N" .)
rm -f $D/lib/commons-compress-*.jar
SIMPLE=$(find ~/.m2/repository/org/slf4j/slf4j-simple -name 'slf4j-simple-2.0.17.jar' | head -1)
cp "$SIMPLE" $D/lib/
CONSOLE=$(find ~/.m2/repository/org/junit/platform/junit-platform-console-standalone -name '*.jar' 2>/dev/null | head -1 || true)
if [ -z "$CONSOLE" ]; then
  mvn -q dependency:get -Dartifact=org.junit.platform:junit-platform-console-standalone:1.14.1 >/dev/null
  CONSOLE=$(find ~/.m2/repository/org/junit/platform/junit-platform-console-standalone -name '*.jar' | head -1)
fi
cp "$CONSOLE" $D/junit-console.jar
rm -rf $D/classes/*
mkdir -p $D/classes/kernels-test $D/classes/tests-test
cp -r kernels/target/test-classes/. $D/classes/kernels-test/
cp -r tests/target/test-classes/. $D/classes/tests-test/
cp benchmarks/device/*.sh benchmarks/device/*.py conf/log4j2.properties $D/
du -sh $D; du -sh $D/*
