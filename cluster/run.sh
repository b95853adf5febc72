#!/usr/bin/env bash
# Three Muster instances on one PostgreSQL behind HAProxy (cluster/haproxy.cfg), on this
# machine. Drives concurrent SCIM writes and reads through the balancer; mid-run kills one
# instance with SIGKILL and another with SIGTERM, restarts both, then verifies (cluster/drive.py)
# that every write acknowledged with a 2xx is present, that only requests in flight on the
# SIGKILLed process failed (none on the SIGTERMed one, which drains), and that versions,
# cursors and access tokens work across instances. Change events: before the load a hook
# (Logto's /api/hooks, through the balancer) subscribed to every user and group event points
# at a local receiver (cluster/receiver.py); after the restarts cluster/eventcheck.py waits
# (at most 60 s) until every event of the feed has been delivered at least once and checks
# that none was lost, every acknowledged create has its User.Created, every signature is
# right and each resource's events arrived in order (duplicates are counted, not an error).
#
#   cluster/run.sh [BINARY] [SECONDS] [WORKERS]     default target/release/muster 20 8
#
# Needs haproxy (Debian: apt-get install haproxy), python3, and PostgreSQL at
# MUSTER_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test); it creates and
# drops its own database there.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${1:-target/release/muster}
SECONDS_RUN=${2:-20}
WORKERS=${3:-8}
PG=${MUSTER_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
command -v haproxy > /dev/null || { echo "cluster: haproxy is not installed" >&2; exit 1; }

work=$(mktemp -d)
db="muster_cluster_$$"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
psql "$PG" -q -c "CREATE DATABASE $db"
url=$(python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' "$PG" "$db")
TOKEN="cluster-token-$(date +%s)-0123456789"
LB_PORT=$(free_port)
PORTS=("$(free_port)" "$(free_port)" "$(free_port)")
declare -a PIDS

cleanup() {
  [ -n "${RECEIVER_PID:-}" ] && kill "$RECEIVER_PID" 2>/dev/null || true
  for p in "${PIDS[@]:-}"; do kill -9 "$p" 2>/dev/null || true; done
  [ -n "${HAPROXY_PID:-}" ] && kill "$HAPROXY_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  psql "$PG" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_healthy() { # port
  for _ in $(seq 1 200); do
    curl -fsS "http://127.0.0.1:$1/readyz" > /dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "cluster: instance on port $1 did not become ready" >&2
  cat "$work"/instance-*.log >&2
  return 1
}

start() { # index
  local i=$1
  MUSTER_BOOTSTRAP_TOKEN="$TOKEN" MUSTER_BCRYPT_COST=4 MUSTER_ALLOW_WEAK_BCRYPT=true RUST_LOG=warn \
    MUSTER_BASE_URL="http://127.0.0.1:$LB_PORT" MUSTER_DB_POOL_SIZE=8 MUSTER_SHUTDOWN_DELAY_MS=2000 \
    MUSTER_WEBHOOK_ALLOW_PRIVATE=true MUSTER_WEBHOOK_TIMEOUT_MS=2000 \
    "$BIN" serve --database-url "$url" --bind "127.0.0.1:${PORTS[$i]}" >> "$work/instance-$i.log" 2>&1 &
  PIDS[$i]=$!
}

# The webhook receiver (its own process): one JSON line per delivery in $work/deliveries.
python3 cluster/receiver.py --port-file "$work/receiver.port" --out "$work/deliveries" &
RECEIVER_PID=$!
for _ in $(seq 1 200); do [ -e "$work/receiver.port" ] && break; sleep 0.025; done
[ -e "$work/receiver.port" ] || { echo "cluster: the webhook receiver did not start" >&2; exit 1; }

for i in 0 1 2; do start "$i"; done
for i in 0 1 2; do wait_healthy "${PORTS[$i]}"; done

servers=""
for i in 0 1 2; do servers+="    server m$i 127.0.0.1:${PORTS[$i]} check"$'\n'; done
sed -e "s/@LB_PORT@/$LB_PORT/" cluster/haproxy.cfg | python3 -c '
import sys; print(sys.stdin.read().replace("@SERVERS@", sys.argv[1]))' "$servers" > "$work/haproxy.cfg"
haproxy -f "$work/haproxy.cfg" -db > "$work/haproxy.log" 2>&1 &
HAPROXY_PID=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$LB_PORT/readyz" > /dev/null 2>&1 && break
  sleep 0.05
done

# A client for the token check, made through the admin API.
client=$(curl -fsS -X POST "http://127.0.0.1:$LB_PORT/admin/v1/credentials" \
  -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"kind":"client","label":"cluster"}')
client_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$client")
client_secret=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["secret"])' "$client")

# A 2 s webhook timeout (above) makes a delivery lease 9 s: what an instance SIGKILLed or
# SIGTERMed mid-delivery leaves behind is taken over by another within that.
python3 cluster/eventcheck.py hook --url "http://127.0.0.1:$LB_PORT" --token "$TOKEN" \
  --receiver "http://127.0.0.1:$(cat "$work/receiver.port")/hook" --key-file "$work/hook.json"

now() { python3 -c 'import time; print(time.time())'; }
events="$work/events"
echo "start $(now)" > "$events"
python3 cluster/drive.py load --lb "http://127.0.0.1:$LB_PORT" --token "$TOKEN" \
  --seconds "$SECONDS_RUN" --workers "$WORKERS" --state "$work/state.json" &
driver=$!

third=$(python3 -c "print($SECONDS_RUN / 4)")
sleep "$third"
echo "sigkill $(now)" >> "$events"
kill -9 "${PIDS[0]}"
wait "${PIDS[0]}" 2>/dev/null || true
sleep 1
start 0
wait_healthy "${PORTS[0]}"
sleep "$third"
echo "sigterm $(now)" >> "$events"
kill -TERM "${PIDS[1]}"
wait "${PIDS[1]}" 2>/dev/null || true
start 1
wait_healthy "${PORTS[1]}"
wait "$driver"

python3 cluster/drive.py verify --lb "http://127.0.0.1:$LB_PORT" \
  --instances "http://127.0.0.1:${PORTS[0]},http://127.0.0.1:${PORTS[1]},http://127.0.0.1:${PORTS[2]}" \
  --token "$TOKEN" --client "$client_id:$client_secret" --workers "$WORKERS" \
  --state "$work/state.json" --events "$events"
python3 cluster/eventcheck.py verify --url "http://127.0.0.1:$LB_PORT" --token "$TOKEN" \
  --key-file "$work/hook.json" --deliveries "$work/deliveries" --state "$work/state.json" \
  --wait 60 --label cluster
echo "cluster: passed"
