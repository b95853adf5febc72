#!/usr/bin/env bash
# Filters at scale, before and after, in one run: two Muster binaries (e.g. main and a
# branch, release builds) each seed N users through SCIM Bulk on a fresh SQLite database and
# a fresh PostgreSQL database (bench/filters.py seed: Bulk seconds of the first and of the
# last 10,000, single POST p50/p95), then the planners' statistics are taken (SQLite
# `ANALYZE`, PostgreSQL `VACUUM ANALYZE`, as autovacuum would), the server is started again
# and each filter of bench/filters.py is sent (count=10; median of 5 after a warm-up).
#
#   bench/filters.sh BIN_A BIN_B
#   MUSTER_BENCH_USERS (default 100000), MUSTER_BENCH_POSTGRES_URL (else
#   MUSTER_TEST_POSTGRES_URL; without either, SQLite only)
# To build a revision's binary beside the working tree's, as bench/bulk_ab.sh does:
#   git worktree add --detach /tmp/rev REV && (cd /tmp/rev && CARGO_TARGET_DIR=$PWD/target/bench \
#     cargo build --release --bin muster)
set -euo pipefail
cd "$(dirname "$0")/.."
A=$(realpath "${1:?usage: bench/filters.sh BIN_A BIN_B}")
B=$(realpath "${2:?usage: bench/filters.sh BIN_A BIN_B}")
N=${MUSTER_BENCH_USERS:-100000}
PG=${MUSTER_BENCH_POSTGRES_URL:-${MUSTER_TEST_POSTGRES_URL:-}}
TOKEN="bench-token-$(date +%s)-0123456789"
work=$(mktemp -d)
PID=""
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
serve() { # binary database-url -> PID, PORT
  PORT=$(free_port)
  MUSTER_BOOTSTRAP_TOKEN="$TOKEN" RUST_LOG=warn "$1" serve --database-url "$2" \
    --bind "127.0.0.1:$PORT" --max-body-bytes 4194304 > "$work/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 400); do curl -fsS "http://127.0.0.1:$PORT/readyz" > /dev/null 2>&1 && return; sleep 0.05; done
  echo "server did not start" >&2; cat "$work/server.log" >&2; exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }
pg_url() { python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' "$PG" "$1"; }
one() { # label binary backend
  local label=$1 bin=$2 backend=$3 url
  if [ "$backend" = sqlite ]; then
    url="sqlite://$work/$label.db"
  else
    psql "$PG" -q -c "DROP DATABASE IF EXISTS muster_bench_filters WITH (FORCE)" -c "CREATE DATABASE muster_bench_filters"
    url=$(pg_url muster_bench_filters)
  fi
  serve "$bin" "$url"
  python3 bench/filters.py seed --url "http://127.0.0.1:$PORT/scim/v2" --token "$TOKEN" --users "$N" > "$work/seed.json"
  stop
  if [ "$backend" = sqlite ]; then
    python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("ANALYZE"); c.commit()' "$work/$label.db"
  else
    psql "$url" -q -c "VACUUM ANALYZE"
  fi
  serve "$bin" "$url"
  python3 bench/filters.py query --url "http://127.0.0.1:$PORT/scim/v2" --token "$TOKEN" > "$work/query.json"
  stop
  python3 - "$label" "$backend" "$work/seed.json" "$work/query.json" <<'PY'
import json, sys
label, backend = sys.argv[1], sys.argv[2]
s, q = json.load(open(sys.argv[3])), json.load(open(sys.argv[4]))
print(json.dumps({"build": label, "backend": backend, **s, "filters": q}))
PY
  rm -f "$work/$label.db" "$work/$label.db-wal" "$work/$label.db-shm"
}

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $N users; A=$A B=$B"
for backend in sqlite ${PG:+postgres}; do
  one A "$A" "$backend"
  one B "$B" "$backend"
done
[ -n "$PG" ] && psql "$PG" -q -c "DROP DATABASE IF EXISTS muster_bench_filters WITH (FORCE)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
