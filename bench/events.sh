#!/usr/bin/env bash
# Webhook delivery benchmark, end to end, against the release binary: on SQLite, then on
# PostgreSQL (a database it makes and drops at MUSTER_BENCH_POSTGRES_URL, else
# MUSTER_TEST_POSTGRES_URL, else postgres://postgres@127.0.0.1:5432/test), start the
# server, a local receiver (cluster/receiver.py, its own process), one hook subscribed to
# every user and group event (Logto's /api/hooks), then CLIENTS threads create USERS users
# through SCIM (bench/events.py). Prints one markdown row per backend: creates/s, events
# delivered/s from the first create to the last delivery, commit→delivery latency p50 / p99 /
# max (the event's own createdAt in the body to its first arrival at the receiver) and
# duplicate deliveries.
#
#   bench/events.sh [BINARY] [USERS] [CLIENTS]     default target/release/muster 2000 8
#   MUSTER_BENCH_BACKENDS="sqlite" (or "postgres") runs only those.
#
# Default webhook settings (10 s timeout, 500 ms idle poll). The server, the clients, the
# receiver and PostgreSQL share the machine: on 2 cores the figures are a lower bound.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONDONTWRITEBYTECODE=1

BIN=${1:-target/release/muster}
USERS=${2:-2000}
CLIENTS=${3:-8}
if [ ! -x "$BIN" ]; then
  echo "no executable at $BIN: build it with cargo build --release --locked" >&2
  exit 2
fi
PG="${MUSTER_BENCH_POSTGRES_URL:-${MUSTER_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}}"
BACKENDS="${MUSTER_BENCH_BACKENDS:-sqlite postgres}"

work=$(mktemp -d)
db_pg="muster_bench_events_$$"
PID=""
RECEIVER=""
cleanup() {
  [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null || true
  [ -n "$RECEIVER" ] && kill "$RECEIVER" 2>/dev/null || true
  wait 2>/dev/null || true
  if [[ " $BACKENDS " == *" postgres "* ]]; then
    psql "$PG" -q -c "DROP DATABASE IF EXISTS $db_pg WITH (FORCE)" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
TOKEN="bench-events-token-$(date +%s)-0123456789"

echo "machine: $(nproc) cores; $(uptime | sed 's/.*load/load/'); $(git rev-parse --short HEAD 2>/dev/null || echo '?'); $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| backend | users | clients | creates/s | events delivered/s | commit→delivery p50 | p99 | max | duplicates |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for backend in $BACKENDS; do
  case "$backend" in
    sqlite) url="sqlite://$work/events.db" ;;
    postgres)
      psql "$PG" -q -c "CREATE DATABASE $db_pg"
      url=$(python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' "$PG" "$db_pg")
      ;;
  esac
  rm -f "$work/receiver.port" "$work/deliveries"
  python3 cluster/receiver.py --port-file "$work/receiver.port" --out "$work/deliveries" &
  RECEIVER=$!
  for _ in $(seq 1 200); do [ -e "$work/receiver.port" ] && break; sleep 0.025; done
  port=$(free_port)
  MUSTER_BOOTSTRAP_TOKEN="$TOKEN" RUST_LOG=warn MUSTER_WEBHOOK_ALLOW_PRIVATE=true \
    "$BIN" serve --database-url "$url" --bind "127.0.0.1:$port" >> "$work/$backend.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 400); do
    curl -fsS "http://127.0.0.1:$port/readyz" > /dev/null 2>&1 && break
    sleep 0.025
  done
  python3 cluster/eventcheck.py hook --url "http://127.0.0.1:$port" --token "$TOKEN" \
    --receiver "http://127.0.0.1:$(cat "$work/receiver.port")/hook" --key-file "$work/hook.json" > /dev/null
  python3 bench/events.py --url "http://127.0.0.1:$port" --token "$TOKEN" --users "$USERS" \
    --clients "$CLIENTS" --deliveries "$work/deliveries" --backend "$backend"
  kill -TERM "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  kill "$RECEIVER"; wait "$RECEIVER" 2>/dev/null || true; RECEIVER=""
  if [ "$backend" = postgres ]; then psql "$PG" -q -c "DROP DATABASE $db_pg WITH (FORCE)"; fi
done
