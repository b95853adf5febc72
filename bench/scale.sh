#!/usr/bin/env bash
# The large-directory workload (bench/scale.py) against the release binary on SQLite and
# PostgreSQL, and the write workload against the reference scim2-server (PyPI, in memory):
#   1. 100,000 users through Bulk (1000 per request), 1,000 groups of 10, one group of every
#      user; PATCH adding one member to it (p50, p95); GET of it with and without members; a
#      cursor walk; the server's peak RSS.
#   2. 100,000 users through 8 concurrent POSTs (a fresh database).
#   3. scim2-server: the same concurrent POSTs (MUSTER_BENCH_REFERENCE_USERS, default 10000).
#   4. Create throughput with wrk (2 threads, 32 connections, MUSTER_BENCH_WRK_SECONDS,
#      default 10 s; POST /Users, a new user each request) against Muster on each backend
#      (a fresh database) and against scim2-server: the like-for-like ratio, the driver
#      written in C so that it is not the bottleneck the Python threads are.
#
#   bench/scale.sh [BINARY]      default target/release/muster
#   MUSTER_BENCH_USERS (default 100000), MUSTER_BENCH_VENV, MUSTER_BENCH_POSTGRES_URL
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/muster}
N=${MUSTER_BENCH_USERS:-100000}
REF=${MUSTER_BENCH_REFERENCE_USERS:-10000}
PG=${MUSTER_BENCH_POSTGRES_URL:-${MUSTER_TEST_POSTGRES_URL:-}}
TOKEN="bench-token-$(date +%s)-0123456789"
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PID=""
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$work"' EXIT

serve() { # database-url -> sets PID, PORT
  PORT=$(free_port)
  MUSTER_BOOTSTRAP_TOKEN="$TOKEN" RUST_LOG=warn "$BIN" serve --database-url "$1" \
    --bind "127.0.0.1:$PORT" --max-body-bytes 1048576 > "$work/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 200); do curl -fsS "http://127.0.0.1:$PORT/readyz" > /dev/null 2>&1 && return; sleep 0.05; done
  echo "server did not start" >&2; cat "$work/server.log" >&2; exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }
fresh_pg() { # name -> url
  psql "$PG" -q -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
  python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' "$PG" "$1"
}
run() { # label database-url args...
  local label=$1 url=$2; shift 2
  serve "$url"
  printf '%s: ' "$label"
  python3 bench/scale.py --url "http://127.0.0.1:$PORT/scim/v2" --token "$TOKEN" --pid "$PID" "$@"
  stop
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
run "sqlite bulk" "sqlite://$work/bulk.db" --users "$N" --bulk --groups 1000 --big
run "sqlite posts" "sqlite://$work/posts.db" --users "$N" --workers 8
if [ -n "$PG" ]; then
  run "postgres bulk" "$(fresh_pg muster_bench_bulk)" --users "$N" --bulk --groups 1000 --big
  run "postgres posts" "$(fresh_pg muster_bench_posts)" --users "$N" --workers 8
  psql "$PG" -q -c "DROP DATABASE IF EXISTS muster_bench_bulk WITH (FORCE)" -c "DROP DATABASE IF EXISTS muster_bench_posts WITH (FORCE)"
fi
if [ "$REF" -gt 0 ]; then
  venv="${MUSTER_BENCH_VENV:-$work/ref-venv}"
  if [ ! -x "$venv/bin/scim2-server" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "scim2-server==0.8.3"
  fi
  PORT=$(free_port)
  "$venv/bin/scim2-server" --hostname 127.0.0.1 --port "$PORT" --bearer-token "$TOKEN" > "$work/ref.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 200); do curl -fsS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v2/ServiceProviderConfig" > /dev/null 2>&1 && break; sleep 0.1; done
  printf 'scim2-server posts: '
  python3 bench/scale.py --url "http://127.0.0.1:$PORT/v2" --token "$TOKEN" --pid "$PID" --users "$REF" --workers 8
  stop
fi

# 4. Create throughput, wrk against each server.
SECS=${MUSTER_BENCH_WRK_SECONDS:-10}
if command -v wrk > /dev/null; then
  wrk_create() { # label prefix
    printf '%s: ' "$1"
    BENCH_MODE=create BENCH_TOKEN="$TOKEN" BENCH_PREFIX="$2" \
      wrk -t2 -c32 -d"${SECS}s" -s bench/throughput.lua "http://127.0.0.1:$PORT" | grep '^RESULT'
  }
  serve "sqlite://$work/wrk.db"; wrk_create "sqlite wrk creates" /scim/v2; stop
  if [ -n "$PG" ]; then
    serve "$(fresh_pg muster_bench_wrk)"; wrk_create "postgres wrk creates" /scim/v2; stop
    psql "$PG" -q -c "DROP DATABASE IF EXISTS muster_bench_wrk WITH (FORCE)"
  fi
  if [ "$REF" -gt 0 ]; then
    PORT=$(free_port)
    "$venv/bin/scim2-server" --hostname 127.0.0.1 --port "$PORT" --bearer-token "$TOKEN" > "$work/ref.log" 2>&1 &
    PID=$!
    for _ in $(seq 1 200); do curl -fsS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v2/ServiceProviderConfig" > /dev/null 2>&1 && break; sleep 0.1; done
    wrk_create "scim2-server wrk creates" /v2
    stop
  fi
else
  echo "wrk not installed (apt-get install wrk): create throughput with wrk skipped"
fi
