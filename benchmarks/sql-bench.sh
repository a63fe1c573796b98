#!/bin/sh
# The SQL benchmark: etcsql and a real etcd (Debian etcd-server) side by side on this machine.
# Builds what it needs, then prints a Markdown table (see docs/benchmarks.md). Takes several
# minutes (1M revisions are written to each server). Options: --keys N --prefix-keys N
# --history N --runs N.
set -e
HERE=$(cd "$(dirname "$0")/.." && pwd)
cd "$HERE"
mvn -q -B package -DskipTests -pl benchmarks -am
exec java -Xmx512m -Detcsql.home="$HERE" -cp "benchmarks/target/benchmarks-0.1.0-SNAPSHOT.jar:benchmarks/target/lib/*" \
  io.etcsql.bench.SqlBench "$@"
