#!/usr/bin/env bash
# Console page times at 100,000 users (bench/console.py) against the release binary on a
# fresh SQLite database: seeds through SCIM Bulk, signs in with the bootstrap token, times
# each page (p50/p99 over MUSTER_BENCH_SAMPLES sequential requests, default 200).
#
#   bench/console.sh [BINARY] [USERS]      default target/release/muster 100000
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/muster}
N=${2:-100000}
TOKEN="bench-token-$(date +%s)-0123456789"
work=$(mktemp -d)
PID=""
trap '[ -n "$PID" ] && kill $PID 2>/dev/null; rm -rf "$work"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MUSTER_BOOTSTRAP_TOKEN="$TOKEN" RUST_LOG=warn "$BIN" serve --database-url "sqlite://$work/console.db" \
  --bind "127.0.0.1:$PORT" > "$work/server.log" 2>&1 &
PID=$!
for _ in $(seq 1 200); do curl -fsS "http://127.0.0.1:$PORT/readyz" > /dev/null 2>&1 && break; sleep 0.05; done
echo "== $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
python3 bench/console.py --url "http://127.0.0.1:$PORT" --token "$TOKEN" --users "$N" \
  --samples "${MUSTER_BENCH_SAMPLES:-200}"
