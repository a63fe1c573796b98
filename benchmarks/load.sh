#!/bin/sh
# The load tool (io.etcsql.bench.load.LoadMain): etcd's tools/benchmark in Java on grpc-java.
# Prints one line of JSON per run. Builds the benchmarks module first if its jar is missing
# (set LOAD_BUILD=1 to rebuild). Examples:
#   benchmarks/load.sh put --endpoints 127.0.0.1:2379 --conns 10 --clients 100 --total 100000 \
#       --key-size 8 --val-size 256 --key-space-size 100000
#   benchmarks/load.sh range KEY --prefill --val-size 256 --consistency s --clients 100
#   benchmarks/load.sh txn-put --clients 100 --key-space-size 100000 --val-size 256
#   benchmarks/load.sh watch-latency --watchers 100 --streams 10 --conns 10 --rate 100 --total 1000
#   benchmarks/load.sh lease-keepalive --clients 100 [--stream=false]
# LOAD_JAVA_OPTS overrides the JVM options (default -Xmx1g -XX:+UseParallelGC).
set -e
HERE=$(cd "$(dirname "$0")/.." && pwd)
JAR="$HERE/benchmarks/target/benchmarks-0.1.0-SNAPSHOT.jar"
if [ ! -f "$JAR" ] || [ ! -d "$HERE/benchmarks/target/lib" ] || [ -n "$LOAD_BUILD" ]; then
  (cd "$HERE" && mvn -o -q -B package -DskipTests -pl benchmarks -am >&2)
fi
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
exec "$JAVA" ${LOAD_JAVA_OPTS:--Xmx1g -XX:+UseParallelGC} -cp "$JAR:$HERE/benchmarks/target/lib/*" io.etcsql.bench.load.LoadMain "$@"
