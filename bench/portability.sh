#!/usr/bin/env bash
# Export, import and copy of a large directory, timed with /usr/bin/time -v (wall time, peak
# RSS), on SQLite and PostgreSQL:
#   1. seed N users (SCIM Bulk, 1000 a request: each user with an email, an audit entry) and
#      100 groups of 10 through the release server on SQLite (bench/scale.py);
#   2. export it (SQLite), import the dump into a fresh PostgreSQL, import it again (every
#      row present already), export that (PostgreSQL) and compare the end lines;
#   3. copy SQLite -> a fresh PostgreSQL, and PostgreSQL -> a fresh SQLite (with verification).
#
#   bench/portability.sh [BINARY]      default target/release/muster
#   MUSTER_BENCH_USERS (default 100000), MUSTER_BENCH_POSTGRES_URL or MUSTER_TEST_POSTGRES_URL
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/muster}
N=${MUSTER_BENCH_USERS:-100000}
PG=${MUSTER_BENCH_POSTGRES_URL:-${MUSTER_TEST_POSTGRES_URL:?set MUSTER_TEST_POSTGRES_URL}}
TOKEN="bench-token-$(date +%s)-0123456789"
work=$(mktemp -d)
PID=""
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fresh_pg() { # name -> url
  psql "$PG" -q -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
  python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' "$PG" "$1"
}
timed() { # label command... : prints "label: wall s, peak MB"
  local label=$1; shift
  /usr/bin/time -v -o "$work/time" "$@"
  awk -v l="$label" '/Elapsed \(wall clock\)/ {w=$NF} /Maximum resident/ {m=$NF}
    END {n=split(w,p,":"); s=(n==3)?p[1]*3600+p[2]*60+p[3]:p[1]*60+p[2]; printf "%-34s %7.1f s  %6.1f MB peak\n", l, s, m/1024}' "$work/time"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
SRC="sqlite://$work/src.db"
PORT=$(free_port)
MUSTER_BOOTSTRAP_TOKEN="$TOKEN" RUST_LOG=warn "$BIN" serve --database-url "$SRC" \
  --bind "127.0.0.1:$PORT" --max-body-bytes 1048576 > "$work/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 200); do curl -fsS "http://127.0.0.1:$PORT/readyz" > /dev/null 2>&1 && break; sleep 0.05; done
python3 bench/scale.py --url "http://127.0.0.1:$PORT/scim/v2" --token "$TOKEN" --users "$N" \
  --bulk --groups 100 --samples 1 > "$work/seed.json"
kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
export RUST_LOG=warn

# Frugal with disk: one dump file at a time, the second export into a pipe.
timed "export sqlite ($N users)" sh -c "'$BIN' export -q --database-url '$SRC' > '$work/a.jsonl'"
echo "  dump: $(wc -l < "$work/a.jsonl") lines, $(du -m "$work/a.jsonl" | cut -f1) MB; source $(du -m "$work/src.db" | cut -f1) MB"
PGA=$(fresh_pg muster_bench_port_a)
timed "import -> postgres" sh -c "'$BIN' import -q --database-url '$PGA' '$work/a.jsonl' > /dev/null"
timed "import again (all present)" sh -c "'$BIN' import -q --database-url '$PGA' '$work/a.jsonl' > /dev/null"
timed "export postgres" sh -c "'$BIN' export -q --database-url '$PGA' | tail -n 1 > '$work/b.end'"
[ "$(tail -n 1 "$work/a.jsonl")" = "$(cat "$work/b.end")" ] && echo "  both exports end with the same counts and checksums"
rm -f "$work/a.jsonl"
psql "$PG" -q -c "DROP DATABASE IF EXISTS muster_bench_port_a WITH (FORCE)"
PGC=$(fresh_pg muster_bench_port_c)
timed "copy sqlite -> postgres (verified)" sh -c "'$BIN' copy -q --from '$SRC' --to '$PGC' > '$work/copy1.txt'"
grep -E '^(table|users|user_values|audit_entries|group_users) ' "$work/copy1.txt" | sed 's/^/  /'
rm -f "$work/src.db"*
timed "copy postgres -> sqlite (verified)" sh -c "'$BIN' copy -q --from '$PGC' --to 'sqlite://$work/c.db' > '$work/copy2.txt'"
psql "$PG" -q -c "DROP DATABASE IF EXISTS muster_bench_port_a WITH (FORCE)" \
  -c "DROP DATABASE IF EXISTS muster_bench_port_c WITH (FORCE)"
