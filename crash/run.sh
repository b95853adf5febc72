#!/usr/bin/env bash
# One Muster server under concurrent writes in four dialects (crash/drive.py), killed with
# SIGKILL at random moments KILLS times and restarted on the same database each time; then
# every write acknowledged with a 2xx must be there, the database consistent (references,
# versions, audit entries) and the figures are printed. On SQLite (a file) and on PostgreSQL
# (a fresh database made from MUSTER_TEST_POSTGRES_URL), or only the BACKEND named.
# Change events: a hook (Logto's /api/hooks) subscribed to every user and group event points
# at a local receiver (cluster/receiver.py) from the start; after the last restart
# cluster/eventcheck.py checks that every acknowledged write has its event in the feed (each
# create its User.Created, each update its User.Data.Updated, each member add its group
# event) and waits (at most 60 s) until every event of the feed has been delivered at least
# once, with valid signatures and in order per resource; duplicates are counted, not an error.
#
#   crash/run.sh [BINARY] [KILLS] [BACKEND]     default target/release/muster 10 "sqlite postgres"
#
# Needs python3 (standard library only) and, for PostgreSQL, psql and a server at
# MUSTER_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test); it creates and
# drops its own database there. Kills come 0.2-1.5 s after the server is ready again.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONDONTWRITEBYTECODE=1

BIN=${1:-target/release/muster}
KILLS=${2:-10}
BACKENDS=${3:-sqlite postgres}
PG=${MUSTER_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}

work=$(mktemp -d)
db_pg="muster_crash_$$"
PID=""
DRIVER=""
RECEIVER=""
cleanup() {
  [ -n "$RECEIVER" ] && kill "$RECEIVER" 2>/dev/null || true
  [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null || true
  [ -n "$DRIVER" ] && kill "$DRIVER" 2>/dev/null || true
  wait 2>/dev/null || true
  if [[ " $BACKENDS " == *" postgres "* ]]; then
    psql "$PG" -q -c "DROP DATABASE IF EXISTS $db_pg WITH (FORCE)" 2>/dev/null || true
  fi
  if [ -n "${CRASH_KEEP:-}" ]; then echo "crash: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
TOKEN="crash-token-$(date +%s)-0123456789"

run_one() { # backend
  local backend=$1 url port log="$work/$1.log"
  case "$backend" in
    sqlite) url="sqlite://$work/crash.db" ;;
    postgres)
      psql "$PG" -q -c "CREATE DATABASE $db_pg"
      url=$(python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' "$PG" "$db_pg")
      ;;
    *) echo "crash: unknown backend $backend" >&2; return 2 ;;
  esac
  port=$(free_port)
  # The webhook receiver (its own process): one JSON line per delivery.
  rm -f "$work/receiver.port"
  python3 cluster/receiver.py --port-file "$work/receiver.port" --out "$work/deliveries-$backend" &
  RECEIVER=$!
  for _ in $(seq 1 200); do [ -e "$work/receiver.port" ] && break; sleep 0.025; done
  [ -e "$work/receiver.port" ] || { echo "crash: the webhook receiver did not start" >&2; return 1; }
  # A 2 s webhook timeout makes a delivery lease 9 s: a delivery the killed server had in
  # flight is sent again by its successor within that.
  start() {
    MUSTER_BOOTSTRAP_TOKEN="$TOKEN" MUSTER_BCRYPT_COST=4 MUSTER_ALLOW_WEAK_BCRYPT=true RUST_LOG=warn \
      MUSTER_WEBHOOK_ALLOW_PRIVATE=true MUSTER_WEBHOOK_TIMEOUT_MS=2000 \
      "$BIN" serve --database-url "$url" --bind "127.0.0.1:$port" >> "$log" 2>&1 &
    PID=$!
  }
  wait_ready() {
    for _ in $(seq 1 400); do
      curl -fsS "http://127.0.0.1:$port/readyz" > /dev/null 2>&1 && return 0
      kill -0 "$PID" 2>/dev/null || break
      sleep 0.025
    done
    echo "crash: the server on $backend did not become ready" >&2
    cat "$log" >&2
    return 1
  }
  start
  wait_ready
  local client client_id client_secret
  client=$(curl -fsS -X POST "http://127.0.0.1:$port/admin/v1/credentials" \
    -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"kind":"client","label":"crash"}')
  client_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$client")
  client_secret=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["secret"])' "$client")
  python3 cluster/eventcheck.py hook --url "http://127.0.0.1:$port" --token "$TOKEN" \
    --receiver "http://127.0.0.1:$(cat "$work/receiver.port")/hook" --key-file "$work/hook-$backend.json"

  rm -f "$work/ready" "$work/stop"
  python3 crash/drive.py load --url "http://127.0.0.1:$port" --token "$TOKEN" \
    --client "$client_id:$client_secret" --state "$work/state-$backend.json" \
    --ready "$work/ready" --stop "$work/stop" &
  DRIVER=$!
  for _ in $(seq 1 400); do [ -e "$work/ready" ] && break; sleep 0.025; done
  [ -e "$work/ready" ] || { echo "crash: the driver did not start" >&2; return 1; }

  local k
  for k in $(seq 1 "$KILLS"); do
    sleep "$(python3 -c 'import random; print(round(random.uniform(0.2, 1.5), 3))')"
    kill -9 "$PID"
    wait "$PID" 2>/dev/null || true
    start
    wait_ready
  done
  sleep 0.5 # the last restart serves writes too
  touch "$work/stop"
  wait "$DRIVER"
  DRIVER=""
  python3 crash/drive.py verify --url "http://127.0.0.1:$port" --token "$TOKEN" \
    --state "$work/state-$backend.json" --db "$url" --kills "$KILLS"
  python3 cluster/eventcheck.py verify --url "http://127.0.0.1:$port" --token "$TOKEN" \
    --key-file "$work/hook-$backend.json" --deliveries "$work/deliveries-$backend" \
    --state "$work/state-$backend.json" --wait 60 --label "crash ($backend)"
  kill -TERM "$PID"
  wait "$PID" 2>/dev/null || true
  PID=""
  kill "$RECEIVER" 2>/dev/null || true
  wait "$RECEIVER" 2>/dev/null || true
  RECEIVER=""
  echo "crash ($backend): passed"
}

for b in $BACKENDS; do
  run_one "$b"
done
