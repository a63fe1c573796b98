#!/bin/sh
# A three-member etcsql cluster on this machine: cluster.sh start | status | stop
#
# Member i (1..3) listens on 127.0.0.1 only: client (gRPC) port P_i, peer port P_i+1, SQL port P_i+2,
# with P = 12379 22379 32379 unless CLUSTER_PORTS="P1 P2 P3" says otherwise. Data directories,
# logs and pid files go to CLUSTER_DIR (default ./cluster-data). Build the server first
# (mvn -q package -DskipTests); status needs etcdctl (Debian package etcd-client).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIR=${CLUSTER_DIR:-./cluster-data}
PORTS=${CLUSTER_PORTS:-12379 22379 32379}
TOKEN=${CLUSTER_TOKEN:-etcsql-example-cluster}
ETCDCTL=${ETCDCTL:-etcdctl}

endpoints() {
  e=""
  for p in $PORTS; do e="$e${e:+,}127.0.0.1:$p"; done
  echo "$e"
}

initial_cluster() {
  c=""; i=1
  for p in $PORTS; do c="$c${c:+,}m$i=http://127.0.0.1:$((p + 1))"; i=$((i + 1)); done
  echo "$c"
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  [ -f "$ROOT/server/target/etcsql-server.jar" ] || (cd "$ROOT" && mvn -q package -DskipTests)
  mkdir -p "$DIR"
  # a new cluster the first time; afterwards each member restarts from its data directory
  state=new
  [ -d "$DIR/m1.etcd" ] && state=existing
  i=1
  for p in $PORTS; do
    if alive "$DIR/m$i.pid"; then
      echo "m$i already running (pid $(cat "$DIR/m$i.pid"))"
    else
      "$ROOT/bin/etcsql" --name "m$i" --data-dir "$DIR/m$i.etcd" \
        --listen-client-urls "http://127.0.0.1:$p" --advertise-client-urls "http://127.0.0.1:$p" \
        --listen-peer-urls "http://127.0.0.1:$((p + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((p + 1))" \
        --listen-sql-urls "http://127.0.0.1:$((p + 2))" \
        --initial-cluster "$(initial_cluster)" --initial-cluster-state "$state" \
        --initial-cluster-token "$TOKEN" >>"$DIR/m$i.log" 2>&1 &
      echo $! >"$DIR/m$i.pid"
      echo "m$i started (pid $!): client 127.0.0.1:$p, peer $((p + 1)), SQL $((p + 2)), log $DIR/m$i.log"
    fi
    i=$((i + 1))
  done
  # ready when every member answers a linearizable read (which needs a leader)
  n=0
  until "$ETCDCTL" --endpoints="$(endpoints)" --command-timeout=2s endpoint health >/dev/null 2>&1; do
    n=$((n + 1))
    if [ "$n" -ge 120 ]; then
      echo "cluster not healthy after 60 s; see $DIR/m*.log" >&2
      exit 1
    fi
    sleep 0.5
  done
  echo "cluster ready: etcdctl --endpoints=$(endpoints) ...; SQL: bin/etcsql sql jdbc:etcsql://$(echo "$PORTS" | awk '{for (i = 1; i <= NF; i++) printf "%s127.0.0.1:%d", (i > 1 ? "," : ""), $i + 2}')"
}

status() {
  i=1; down=0; up=0
  for p in $PORTS; do
    if alive "$DIR/m$i.pid"; then echo "m$i running (pid $(cat "$DIR/m$i.pid"))"; up=1; else echo "m$i not running"; down=1; fi
    i=$((i + 1))
  done
  [ "$up" = 1 ] || return 1
  "$ETCDCTL" --endpoints="$(endpoints)" --command-timeout=2s endpoint status -w table || down=1
  "$ETCDCTL" --endpoints="$(endpoints)" --command-timeout=2s member list -w table || down=1
  return $down
}

stop() {
  i=1
  for p in $PORTS; do
    f="$DIR/m$i.pid"
    if alive "$f"; then
      pid=$(cat "$f")
      kill -TERM "$pid"
      n=0
      while kill -0 "$pid" 2>/dev/null && [ "$n" -lt 60 ]; do sleep 0.5; n=$((n + 1)); done
      if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; echo "m$i killed (did not stop in 30 s)"; else echo "m$i stopped"; fi
    fi
    rm -f "$f"
    i=$((i + 1))
  done
}

case "${1:-}" in
  start) start ;;
  status) status ;;
  stop) stop ;;
  *) echo "usage: $0 start|status|stop   (env: CLUSTER_DIR, CLUSTER_PORTS, CLUSTER_TOKEN, ETCDCTL)" >&2; exit 2 ;;
esac
