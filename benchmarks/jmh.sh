#!/bin/sh
# JMH micro-benchmarks of the store's and the state machine's hot paths (io.etcsql.bench.jmh; see
# docs/benchmarks.md, "Micro-benchmarks (JMH)"). Builds offline, then runs JMH with the given
# arguments: a regexp selects benchmarks (e.g. `benchmarks/jmh.sh KvStoreBench.put`), and any JMH
# option is passed through (`-h` lists them). Unless given, these defaults apply (the full set
# takes about 5 minutes on 2 cores): -f 1 -wi 2 -i 3 -w 2s -r 3s.
# The forked benchmark JVMs inherit this JVM's options: Chronicle Map's flags and the heap size
# (ETCSQL_JMH_JAVA_OPTS, default -Xmx1g).
set -e
HERE=$(cd "$(dirname "$0")/.." && pwd)
cd "$HERE"
mvn -o -q -B package -DskipTests -pl benchmarks -am

defaults=""
for opt in -f -wi -i -w -r; do
  given=no
  for arg in "$@"; do
    [ "$arg" = "$opt" ] && given=yes
  done
  if [ $given = no ]; then
    case $opt in
      -f) defaults="$defaults -f 1" ;;
      -wi) defaults="$defaults -wi 2" ;;
      -i) defaults="$defaults -i 3" ;;
      -w) defaults="$defaults -w 2s" ;;
      -r) defaults="$defaults -r 3s" ;;
    esac
  fi
done

JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
# shellcheck disable=SC2086 # the defaults and the options are lists of words
exec "$JAVA" ${ETCSQL_JMH_JAVA_OPTS:--Xmx1g} \
  --add-opens=java.base/java.lang=ALL-UNNAMED \
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED \
  --add-opens=java.base/java.nio=ALL-UNNAMED \
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
  --add-exports=java.base/sun.nio.ch=ALL-UNNAMED \
  --add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED \
  --add-exports=java.base/jdk.internal.ref=ALL-UNNAMED \
  -Dchronicle.analytics.disable=true \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "benchmarks/target/classes:benchmarks/target/lib/*" \
  org.openjdk.jmh.Main $defaults "$@"
