#!/usr/bin/env bash
# A/B of the large-directory write workload: two revisions built side by side (release,
# `git worktree`), then run alternately on fresh SQLite databases, so a regression in Bulk
# or in big group writes shows against the revision before it. Each run: N users through
# SCIM Bulk (1000 per request), one group filled with N-40 of them (PATCH adds of 10,000),
# 40 PATCHes adding one member to it (bench/scale.py --bulk --big --samples 40); printed:
# Bulk seconds, fill seconds, p50 of the one-member add, the server's peak RSS (VmHWM).
#
#   bench/bulk_ab.sh REV_A REV_B [ROUNDS]     ROUNDS default 2 (A B A B)
#   MUSTER_BENCH_USERS (default 50000); MUSTER_AB_TARGET (the shared cargo target dir,
#   default target/ab: the two builds share their dependencies; each binary is copied out).
#   REV may be WORKTREE to use the working tree as it is (uncommitted changes included), or
#   the path of a binary already built (target/release/muster, say).
set -euo pipefail
cd "$(dirname "$0")/.."
A=${1:?usage: bench/bulk_ab.sh REV_A REV_B [ROUNDS]}
B=${2:?usage: bench/bulk_ab.sh REV_A REV_B [ROUNDS]}
ROUNDS=${3:-2}
N=${MUSTER_BENCH_USERS:-50000}
TARGET=$(realpath -m "${MUSTER_AB_TARGET:-target/ab}")
TOKEN="bench-token-$(date +%s)-0123456789"
work=$(mktemp -d)
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null
  for w in "$work"/tree-*; do [ -d "$w" ] && git worktree remove --force "$w"; done
  rm -rf "$work"
}
trap cleanup EXIT

build() { # rev label -> $work/muster-label
  local rev=$1 label=$2 dir
  if [ -f "$rev" ] && [ -x "$rev" ]; then
    echo "$label = the binary $rev" >&2
    cp "$rev" "$work/muster-$label"
    return
  fi
  if [ "$rev" = WORKTREE ]; then
    dir=$PWD
  else
    dir="$work/tree-$label"
    git worktree add --quiet --detach "$dir" "$rev"
  fi
  echo "building $label = $rev ($(git -C "$dir" rev-parse --short HEAD))" >&2
  (cd "$dir" && CARGO_TARGET_DIR="$TARGET" cargo build --release --quiet --bin muster)
  cp "$TARGET/release/muster" "$work/muster-$label"
}
build "$A" A
build "$B" B

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
run() { # label
  local bin="$work/muster-$1" db="$work/$1-$RANDOM.db" port
  port=$(free_port)
  MUSTER_BOOTSTRAP_TOKEN="$TOKEN" RUST_LOG=warn "$bin" serve --database-url "sqlite://$db" \
    --bind "127.0.0.1:$port" --max-body-bytes 4194304 > "$work/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 200); do curl -fsS "http://127.0.0.1:$port/readyz" > /dev/null 2>&1 && break; sleep 0.05; done
  python3 bench/scale.py --url "http://127.0.0.1:$port/scim/v2" --token "$TOKEN" --pid "$PID" \
    --users "$N" --bulk --big --samples 40 > "$work/out.json"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  rm -f "$db" "$db-wal" "$db-shm"
  python3 - "$1" "$work/out.json" <<'EOF'
import json, sys
o = json.load(open(sys.argv[2]))
print(f"{sys.argv[1]}  bulk {o['seed_seconds']:6.2f} s  fill {o['big_group_fill_seconds']:6.2f} s  "
      f"+1 member p50 {o['patch_add_one_member_ms']['p50']:6.2f} ms  peak RSS {o['peak_rss_mb']:6.1f} MB")
EOF
}

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $N users; A=$A B=$B"
for _ in $(seq 1 "$ROUNDS"); do
  run A
  run B
done
