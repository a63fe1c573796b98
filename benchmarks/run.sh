#!/usr/bin/env bash
# Side-by-side load benchmark: real etcd (/usr/bin/etcd, Debian etcd-server 3.4) and etcsql
# (bin/etcsql), in turn, on 127.0.0.1 with fresh data directories, one member and then three;
# the same matrix of benchmarks/load.sh runs against each. Prints a header (date, machine,
# versions, commit) and Markdown tables of ratios etcsql / etcd, with each server's peak RSS and
# data directory size; every JSON line goes to the results file.
#
#   benchmarks/run.sh [--scale 1] [--members 1|3|both] [--targets etcd,etcsql]
#                     [--only put,range,txn-put,watch-latency,lease-keepalive] [--results FILE]
#                     [--append] [--base-port 23790] [--no-build] [--no-warmup]
#
# --scale multiplies every total (0.05 for a quick check; 1 takes about 15-20 minutes).
# --only takes bench names or cell names ("put 10/100"), comma separated. --append adds to an
# existing --results file (a later line replaces an earlier one of the same cell, target and
# member count in the table), e.g. to rerun etcsql only after a change. Each server first gets the
# same untimed warm-up load (about 140k requests and 300k watch events), three times
# (WARMUP_PASSES); --no-warmup skips it.
# ETCSQL_HOME=<another built checkout> measures that build instead of this one (before/after runs).
# The load tool runs with LOAD_JAVA_OPTS (default -Xmx1g -XX:+UseParallelGC).
# etcsql runs with its launcher's JVM options: a 20 ms G1 pause goal, then ETCSQL_JAVA_OPTS (default -Xmx1g).
# Only one server runs at a time; all are killed on exit. Keep the machine otherwise idle.
set -euo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
# the etcsql build measured: this checkout unless ETCSQL_HOME names another (built) one
ETCSQL_HOME=${ETCSQL_HOME:-$HERE}
SCALE=1
MEMBERS=both
TARGETS=etcd,etcsql
ONLY=""
RESULTS=""
BASE_PORT=23790
BUILD=1
APPEND=0
WARMUP=1
ETCD_BIN=${ETCD_BIN:-/usr/bin/etcd}
ETCDCTL_BIN=${ETCDCTL_BIN:-/usr/bin/etcdctl}

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) SCALE=$2; shift 2 ;;
    --members) MEMBERS=$2; shift 2 ;;
    --targets) TARGETS=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --results) RESULTS=$2; shift 2 ;;
    --base-port) BASE_PORT=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --append) APPEND=1; shift ;;
    --no-warmup) WARMUP=0; shift ;;
    -h|--help) usage ;;
    *) echo "run.sh: unknown option $1" >&2; usage ;;
  esac
done
case "$MEMBERS" in 1) MEMBER_COUNTS="1" ;; 3) MEMBER_COUNTS="3" ;; both) MEMBER_COUNTS="1 3" ;; *) usage ;; esac

cd "$HERE"
if [ "$BUILD" = 1 ]; then
  echo "building server and benchmarks..." >&2
  mvn -o -q -B package -DskipTests -pl server,benchmarks -am >&2
fi
CP="$HERE/benchmarks/target/benchmarks-0.1.0-SNAPSHOT.jar:$HERE/benchmarks/target/lib/*"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/etcsql-run-XXXXXX")
RESULTS=${RESULTS:-$WORK/results.jsonl}
[ "$APPEND" = 1 ] || : > "$RESULTS"
LOAD_JAVA_OPTS=${LOAD_JAVA_OPTS:--Xmx1g -XX:+UseParallelGC}
PIDS=()
DIRS=()

stop_servers() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  PIDS=()
}
cleanup() {
  stop_servers
  # keep the logs and the results; data directories can be large
  rm -rf "$WORK"/*/m*/data 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# scaled N: N * SCALE, at least 1
scaled() { awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s + 0.5); print (v < 1 ? 1 : v) }'; }

listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# start_cluster TARGET N: starts N members, sets ENDPOINTS. Refuses ports another process holds
# (its health check would pass and measure that process instead).
start_cluster() {
  local target=$1 n=$2 i cluster="" eps="" port
  for ((i = 0; i < n; i++)); do
    for port in $((BASE_PORT + i)) $((BASE_PORT + 100 + i)) $((BASE_PORT + 200 + i)); do
      if listening "$port"; then
        echo "run.sh: port $port is in use by another process; pick other ports with --base-port" >&2
        return 1
      fi
    done
  done
  for ((i = 0; i < n; i++)); do
    cluster+="${cluster:+,}m$i=http://127.0.0.1:$((BASE_PORT + 100 + i))"
    eps+="${eps:+,}127.0.0.1:$((BASE_PORT + i))"
  done
  ENDPOINTS=$eps
  DIRS=()
  for ((i = 0; i < n; i++)); do
    local dir="$WORK/$target-$n/m$i" bin=$ETCD_BIN extra=()
    mkdir -p "$dir"
    DIRS+=("$dir/data")
    if [ "$target" = etcsql ]; then
      bin="$ETCSQL_HOME/bin/etcsql"
      extra=(--listen-sql-urls="http://127.0.0.1:$((BASE_PORT + 200 + i))")
    fi
    (cd "$dir" && exec env -u ETCDCTL_API "$bin" --name "m$i" --data-dir "$dir/data" \
      --listen-client-urls "http://127.0.0.1:$((BASE_PORT + i))" \
      --advertise-client-urls "http://127.0.0.1:$((BASE_PORT + i))" \
      --listen-peer-urls "http://127.0.0.1:$((BASE_PORT + 100 + i))" \
      --initial-advertise-peer-urls "http://127.0.0.1:$((BASE_PORT + 100 + i))" \
      --initial-cluster "$cluster" --initial-cluster-state new \
      --initial-cluster-token "bench-$target-$n" "${extra[@]}" >"$dir/server.log" 2>&1) &
    PIDS+=($!)
  done
  local deadline=$((SECONDS + 120))
  until ETCDCTL_API=3 "$ETCDCTL_BIN" --endpoints="$ENDPOINTS" --command-timeout=3s endpoint health >/dev/null 2>&1; do
    if [ $SECONDS -gt $deadline ]; then
      echo "run.sh: $target ($n members) not healthy after 120 s; logs in $WORK/$target-$n" >&2
      return 1
    fi
    sleep 0.5
  done
  for i in "${!PIDS[@]}"; do
    if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
      echo "run.sh: $target member m$i exited; see $WORK/$target-$n/m$i/server.log" >&2
      return 1
    fi
  done
}

# record_resources TARGET N: peak RSS (VmHWM) of each member and the size of its data directory
record_resources() {
  local target=$1 n=$2 p kb max=0 sum=0 bytes=0 d
  for p in "${PIDS[@]}"; do
    kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
    kb=${kb:-0}
    sum=$((sum + kb)); [ "$kb" -gt "$max" ] && max=$kb
  done
  for d in "${DIRS[@]}"; do bytes=$((bytes + $(du -sb "$d" 2>/dev/null | cut -f1 || echo 0))); done
  printf '{"bench":"resources","target":"%s","members":%d,"peak_rss_max_kb":%d,"peak_rss_sum_kb":%d,"data_dir_bytes":%d}\n' \
    "$target" "$n" "$max" "$sum" "$bytes" >> "$RESULTS"
}

selected() { # selected CELL BENCH
  [ -z "$ONLY" ] && return 0
  local o
  IFS=, read -ra sel <<< "$ONLY"
  for o in "${sel[@]}"; do [ "$o" = "$2" ] || [ "$o" = "$1" ] && return 0; done
  return 1
}

# the keys and values of every put-like load: 8-byte keys, 256-byte values, 100k key space
KV=(--key-size 8 --val-size 256 --key-space-size 100000)

# load BENCH ARGS...: one run of the load tool against the running servers (its log to load.log)
load() {
  timeout 900 java $LOAD_JAVA_OPTS -cp "$CP" io.etcsql.bench.load.LoadMain "$@" --endpoints="$ENDPOINTS" \
    --target "$TARGET" 2>>"$WORK/load.log"
}

# cell NAME TOTAL BENCH ARGS...: one load run, its JSON line appended to the results
cell() {
  local name=$1 total; total=$(scaled "$2"); shift 2
  selected "$name" "$1" || return 0
  # 10% of the total first, untimed, and at least 3,000 requests: the load tool is a fresh JVM per
  # cell, and with fewer its own JIT compiling takes CPU from the servers during the timed part
  # (a single client then measured the tool as much as the server); watch-latency's warm-up puts
  # each deliver one event per watcher, so 10% of them is already thousands of events
  local warm=$(( total / 10 )) line
  if [ "$1" != watch-latency ] && [ "$warm" -lt 3000 ]; then warm=3000; fi
  echo "  $TARGET/$N: $name (total $total)" >&2
  line=$(load "$@" --total "$total" --warmup-total "$warm" --label members="$N" --label "cell=$name" | tail -1) || true
  if [ -z "$line" ]; then
    line=$(printf '{"bench":"%s","target":"%s","members":%d,"cell":"%s","fatal":"no output (see %s)"}' \
      "$1" "$TARGET" "$N" "$name" "$WORK/load.log")
  fi
  echo "$line" >> "$RESULTS"
}

# server_ticks: CPU ticks (user + system) of the running servers, all threads, then of their JIT
# compiler threads alone ("all jit"; etcd has none)
server_ticks() {
  local p t all=0 jit=0 v
  for p in "${PIDS[@]}"; do
    v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || continue
    all=$((all + ${v:-0}))
    for t in /proc/"$p"/task/*; do
      case "$(cat "$t/comm" 2>/dev/null)" in
        C1\ Compiler*|C2\ Compiler*) v=$(awk '{ print $14 + $15 }' "$t/stat" 2>/dev/null) && jit=$((jit + ${v:-0})) ;;
      esac
    done
  done
  echo "$all $jit"
}

# warm_up_pass: the same untimed load for every server (puts, ranges, txns and keep-alives, watch
# events; fixed totals whatever --scale)
warm_up_pass() {
  load put --conns 10 --clients 100 --total 40000 "${KV[@]}" --warmup-total 0 >/dev/null || true
  load put --conns 1 --clients 1 --total 2000 "${KV[@]}" --warmup-total 0 >/dev/null || true
  load range bench/warm-key --prefill --val-size 256 --consistency l --conns 10 --clients 100 --total 30000 \
    --warmup-total 0 >/dev/null || true
  load range bench/warm-key --val-size 256 --consistency s --conns 10 --clients 100 --total 30000 \
    --warmup-total 0 >/dev/null || true
  load txn-put --conns 10 --clients 100 --total 20000 "${KV[@]}" --warmup-total 0 >/dev/null || true
  load lease-keepalive --conns 10 --clients 100 --stream=true --total 20000 --warmup-total 0 >/dev/null || true
  # the watch path too: 100 watchers of one key, 300 puts/s for 10 s (300,000 events)
  load watch-latency --conns 10 --streams 10 --watchers 100 --rate 300 --val-size 256 --total 3000 \
    --warmup-total 0 >/dev/null || true
}

# warm_up: a long-running server is measured, not its start-up. A JVM compiles its hot paths
# during its first minutes of load, and on a small machine for longer: three etcsql members
# sharing two cores spent 35% of their CPU in the JIT compiler during a first pass of the
# warm-up load, 19% during a second and 5% during a third. So every server, etcd too (the same
# data for both), gets WARMUP_PASSES passes (3); WARM_NOTES gets the JIT's share of each pass.
WARMUP_PASSES=${WARMUP_PASSES:-3}
WARM_NOTES=""
warm_up() {
  [ "$WARMUP" = 1 ] || return 0
  local pass before after share shares=""
  before=$(server_ticks)
  for pass in $(seq "$WARMUP_PASSES"); do
    warm_up_pass
    after=$(server_ticks)
    share=$(echo "$before $after" | awk '{ all = $3 - $1; print (all > 0 ? int(100 * ($4 - $2) / all) : 0) }')
    echo "  $TARGET/$N: warm-up pass $pass: JIT compiling took $share% of the servers' CPU" >&2
    shares="$shares${shares:+, }$share%"
    before=$after
  done
  WARM_NOTES="$WARM_NOTES${WARM_NOTES:+; }$TARGET/$N JIT share of CPU per pass $shares"
}

matrix() {
  cell "put 1/1" 3000 put --conns 1 --clients 1 "${KV[@]}"
  cell "put 10/100" 100000 put --conns 10 --clients 100 "${KV[@]}"
  cell "put 100/1000" 100000 put --conns 100 --clients 1000 "${KV[@]}"
  cell "range l 1" 10000 range bench/range-key --prefill --val-size 256 --consistency l --conns 1 --clients 1
  cell "range l 100" 100000 range bench/range-key --prefill --val-size 256 --consistency l --conns 10 --clients 100
  cell "range s 1" 10000 range bench/range-key --prefill --val-size 256 --consistency s --conns 1 --clients 1
  cell "range s 100" 100000 range bench/range-key --prefill --val-size 256 --consistency s --conns 10 --clients 100
  cell "txn-put 100" 50000 txn-put --conns 10 --clients 100 "${KV[@]}"
  cell "watch-latency 100" 2000 watch-latency --conns 10 --streams 10 --watchers 100 --rate 100 --val-size 256
  cell "lease-keepalive 100 stream" 100000 lease-keepalive --conns 10 --clients 100 --stream=true
  cell "lease-keepalive 100 unary" 50000 lease-keepalive --conns 10 --clients 100 --stream=false
}

START=$(date -u '+%Y-%m-%d %H:%M UTC')
IFS=, read -ra TARGET_LIST <<< "$TARGETS"
for N in $MEMBER_COUNTS; do
  for TARGET in "${TARGET_LIST[@]}"; do
    case "$TARGET" in etcd|etcsql) ;; *) echo "run.sh: unknown target $TARGET" >&2; exit 2 ;; esac
    echo "$TARGET, $N member(s):" >&2
    if start_cluster "$TARGET" "$N"; then
      warm_up
      matrix
      record_resources "$TARGET" "$N"
    fi
    stop_servers
    rm -rf "$WORK/$TARGET-$N"/m*/data
  done
done

echo "## Load benchmark: etcsql / etcd"
echo
echo "- date: $START; scale $SCALE"
echo "- machine: $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)," \
  "$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
echo "- Java: $(java -version 2>&1 | head -1); etcd: $("$ETCD_BIN" --version | head -1)"
echo "- etcsql: commit $(git -C "$ETCSQL_HOME" rev-parse --short HEAD)$(git -C "$ETCSQL_HOME" diff --quiet HEAD 2>/dev/null || echo ' (with local changes)'), JVM options -XX:MaxGCPauseMillis=20 ${ETCSQL_JAVA_OPTS:--Xmx1g}"
echo "- warm-up: ${WARM_NOTES:-none}"
echo "- results: $RESULTS"
echo
java -cp "$CP" io.etcsql.bench.load.ResultsTable "$RESULTS"
