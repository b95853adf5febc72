#!/usr/bin/env bash
# Throughput benchmark: wrk (32 connections, 2 threads, fixed duration) against the release
# binary, on SQLite and (when MUSTER_BENCH_POSTGRES_URL or MUSTER_TEST_POSTGRES_URL names a
# server) PostgreSQL, at each directory size, then against the reference server scim2-server
# (PyPI, in-memory) seeded through its own SCIM POST.
#
#   bench/throughput.sh [BINARY]          default target/release/muster (build it first:
#                                         cargo build --release --locked)
#
# Environment:
#   MUSTER_BENCH_SIZES     directory sizes, default "10000 100000"
#   MUSTER_BENCH_SECONDS   seconds per measured workload, default 10
#   MUSTER_BENCH_WARMUP    seconds of warm-up before each workload, default 2
#   MUSTER_BENCH_REFERENCE_USERS  users POSTed to the reference server, default 10000;
#                          0 skips the reference server
#   MUSTER_BENCH_VENV      venv for scim2-server (default: a temporary one)
#   MUSTER_BENCH_OUT       raw results file, default bench/results-<date>.txt (not committed)
#   MUSTER_BENCH_WORKLOADS the workloads to run (names below, space-separated), default all;
#                          /healthz always runs (it is the ceiling the others are divided by)
#   MUSTER_BENCH_BACKENDS  "sqlite postgres" (default), or one of them
#   MUSTER_BENCH_PERF      a folder: the server runs under `perf record -g` and its profile
#                          is written there as perf-<backend>-<size>.data (for perf report)
#
# Workloads: /healthz (the ceiling), GET /ServiceProviderConfig (`auth_only`: token check, no
# query of its own), GET /Users/{random id}, GET /Users?filter=userName eq
# "<random existing>", GET /Users?filter=<a custom extension attribute> eq "<random existing>"
# (`ext_eq`: a registered schema extension, docs/scim-extensions.md, one value a user),
# GET /Users?count=100&startIndex=<random>, PATCH /Users/{random id} replacing displayName. Users are seeded with raw SQL (the columns benches/scim.rs seeds, one
# `emails` row each) and ANALYZEd. Peak RSS is the server's VmHWM after all workloads of a run.
# wrk, the server and PostgreSQL share the machine: on 2 cores the numbers are a lower bound.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${1:-target/release/muster}"
if [ ! -x "$BIN" ]; then
  echo "no executable at $BIN: build it with cargo build --release --locked" >&2
  exit 2
fi
BIN=$(realpath "$BIN")
SIZES="${MUSTER_BENCH_SIZES:-10000 100000}"
DURATION="${MUSTER_BENCH_SECONDS:-10}"
WARMUP="${MUSTER_BENCH_WARMUP:-2}"
REF_USERS="${MUSTER_BENCH_REFERENCE_USERS:-10000}"
PG_ADMIN="${MUSTER_BENCH_POSTGRES_URL:-${MUSTER_TEST_POSTGRES_URL:-}}"
OUT="${MUSTER_BENCH_OUT:-bench/results-$(date +%Y-%m-%d-%H%M%S).txt}"
CONNECTIONS=32
THREADS=2
TOKEN="bench-throughput-token-0123456789"
SCIM2_SERVER_VERSION="0.8.3"
LUA="$PWD/bench/throughput.lua"

for v in $SIZES "$DURATION" "$WARMUP" "$REF_USERS"; do
  case "$v" in
    '' | *[!0-9]*) echo "not a whole number: '$v'" >&2; exit 2 ;;
  esac
done
for n in $SIZES; do
  if [ "$n" -lt 100 ] || [ "$n" -gt 999999 ]; then
    echo "sizes must be between 100 and 999999 (got $n)" >&2
    exit 2
  fi
done
if [ "$DURATION" -lt 1 ] || [ "$DURATION" -gt 300 ]; then
  echo "MUSTER_BENCH_SECONDS must be 1..300" >&2
  exit 2
fi
if [ "$REF_USERS" -gt 100000 ]; then
  echo "MUSTER_BENCH_REFERENCE_USERS must be at most 100000" >&2
  exit 2
fi

if ! command -v wrk > /dev/null 2>&1; then
  echo "== installing wrk (Debian)"
  if command -v apt-get > /dev/null 2>&1; then
    if apt-get update -qq > /dev/null; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk > /dev/null || true
    fi
  fi
fi
if ! command -v wrk > /dev/null 2>&1; then
  echo "wrk is not installed and apt-get could not install it" >&2
  exit 2
fi

work=$(mktemp -d)
rows="$work/rows.tsv" # workload backend size rps p50_us p99_us rss_kb errors
: > "$rows"
: > "$OUT"
SERVER_PID=""
PG_DBS=()

stop_server() {
  local pid=$1
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2> /dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
}

cleanup() {
  stop_server "$SERVER_PID"
  for db in "${PG_DBS[@]}"; do
    psql "$PG_ADMIN" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" > /dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

log() { echo "$*" | tee -a "$OUT"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_http() { # url [header]: up to 20 s
  for _ in $(seq 1 200); do
    if curl -fsS -o /dev/null ${2:+-H "$2"} "$1" 2> /dev/null; then return 0; fi
    sleep 0.1
  done
  echo "no answer from $1" >&2
  return 1
}

peak_rss_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2> /dev/null || echo 0; }

db_url() { # admin-url database -> url of that database
  python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/"+sys.argv[2])))' "$1" "$2"
}

# The URL the server itself uses: as a co-located deployment would, through PostgreSQL's Unix
# socket when there is one (MUSTER_BENCH_PG_SOCKET, default /var/run/postgresql), else TCP
# without TLS. On loopback, libpq's default sslmode=prefer encrypts every round trip: that
# cost a third of GET /Users/{id}'s throughput here and measures OpenSSL, not Muster.
server_db_url() { # admin-url database
  python3 -c '
import os, sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
sock = os.environ.get("MUSTER_BENCH_PG_SOCKET", "/var/run/postgresql")
user = p.username or "postgres"
if os.path.exists(os.path.join(sock, ".s.PGSQL.%d" % (p.port or 5432))):
    print("postgres://%s@%s:%d/%s" % (user, u.quote(sock, safe=""), p.port or 5432, sys.argv[2]))
else:
    q = p.query + ("&" if p.query else "") + "sslmode=disable"
    print(u.urlunsplit(p._replace(path="/" + sys.argv[2], query=q)))
' "$1" "$2"
}

# run_wrk workload backend size base-url mode [list-file] [prefix] [token]
# Warm-up, then the measured run; appends the raw output to $OUT and one row to $rows
# (rss filled in later by the caller).
run_wrk() {
  local workload=$1 backend=$2 size=$3 base=$4 mode=$5 list=${6:-} prefix=${7:-/scim/v2} token=${8-$TOKEN}
  local raw="$work/wrk.out"
  if [ "$workload" != healthz ] && [ -n "${MUSTER_BENCH_WORKLOADS:-}" ] \
    && [[ " $MUSTER_BENCH_WORKLOADS " != *" $workload "* ]]; then
    return 0
  fi
  export BENCH_MODE="$mode" BENCH_LIST="$list" BENCH_USERS="$size" BENCH_TOKEN="$token" BENCH_PREFIX="$prefix"
  if [ "$WARMUP" -gt 0 ]; then
    timeout $((WARMUP + 30)) wrk -t "$THREADS" -c "$CONNECTIONS" -d "${WARMUP}s" --timeout 5s -s "$LUA" "$base" > /dev/null 2>&1 || true
  fi
  if ! timeout $((DURATION + 60)) wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --timeout 5s -s "$LUA" "$base" > "$raw" 2>&1; then
    echo "wrk failed for $workload on $backend/$size:" >&2
    cat "$raw" >&2
  fi
  {
    echo "--- $workload | $backend | $size users | wrk -t $THREADS -c $CONNECTIONS -d ${DURATION}s"
    cat "$raw"
  } >> "$OUT"
  local line
  line=$(grep '^RESULT ' "$raw" | tail -n1 || true)
  if [ -z "$line" ]; then
    printf '%s\t%s\t%s\t0\t0\t0\t0\twrk-failed\n' "$workload" "$backend" "$size" >> "$rows"
    return 0
  fi
  python3 - "$workload" "$backend" "$size" "$line" >> "$rows" << 'PY'
import sys
workload, backend, size, line = sys.argv[1:5]
kv = dict(f.split("=", 1) for f in line.split()[1:])
errs = {k: int(kv[k]) for k in ("connect", "read", "write", "status", "timeout") if int(kv[k])}
err = ",".join(f"{k}={v}" for k, v in errs.items()) or "-"
print("\t".join([workload, backend, size, kv["rps"], kv["p50_us"], kv["p99_us"], "0", err]))
PY
  printf '  %-14s %-10s %7s users: %s\n' "$workload" "$backend" "$size" "$(tail -n1 "$rows" | cut -f4- | tr '\t' ' ')"
}

set_rss() { # backend size rss_kb: fill in the peak RSS of that run's rows
  python3 - "$rows" "$1" "$2" "$3" << 'PY'
import sys
path, backend, size, rss = sys.argv[1:5]
out = []
for line in open(path):
    f = line.rstrip("\n").split("\t")
    if f[1] == backend and f[2] == size:
        f[6] = rss
    out.append("\t".join(f))
open(path, "w").write("".join(l + "\n" for l in out))
PY
}

seed_sqlite() { # path n ids-file
  python3 - "$@" << 'PY'
import datetime, sqlite3, sys
path, n, ids_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
base = datetime.datetime(2025, 1, 1)
fmt = "%Y-%m-%d %H:%M:%S"
con = sqlite3.connect(path, isolation_level=None)
con.execute("BEGIN")
users, values, ext = [], [], []
for i in range(n):
    uid = (i + 1) * 7919 + 0x1000_0000
    t = base + datetime.timedelta(seconds=i * 60)
    modified = base + datetime.timedelta(days=700) if i % 100 == 7 else t
    name = f"user{i:06}@example.com"
    users.append((uid, name, name, f"ext-{i:06}", f"User {i:06}", f"user {i:06}",
                  f"Given{i % 997}", f"Family{i % 1009}", t.strftime(fmt), modified.strftime(fmt)))
    email = f"user{i:06}@work{i % 50}.example"
    values.append((uid, email, email))
    ext.append((uid, f"CC-{i:06}", f"cc-{i:06}"))
con.executemany(
    "INSERT INTO users (id, org_id, user_name, user_name_lower, external_id, display_name, display_name_lower, "
    "name_given, name_family, active, custom_data, profile_extra, is_locked, mfa_enabled, version, created_at, updated_at) "
    "VALUES (?, 'default', ?, ?, ?, ?, ?, ?, ?, 1, '{}', '{}', 0, 0, 1, ?, ?)", users)
con.executemany(
    "INSERT INTO user_values (user_id, attribute, position, org_id, value, value_lower, type, is_primary) "
    "VALUES (?, 'emails', 0, 'default', ?, ?, 'work', 1)", values)
con.executemany(
    "INSERT INTO user_values (user_id, attribute, position, org_id, value, value_lower, kind) "
    "VALUES (?, 'urn:example:bench:2.0:User:costCenter', 0, 'default', ?, ?, 's')", ext)
con.execute("COMMIT")
con.execute("ANALYZE")
con.execute("PRAGMA optimize")
con.close()
with open(ids_path, "w") as f:
    f.writelines(f"{u[0]:016X}\n" for u in users)
PY
}

seed_postgres() { # url n ids-file
  local url=$1 n=$2 ids=$3
  psql "$url" -q -v ON_ERROR_STOP=1 -v n="$n" << 'SQL'
BEGIN;
INSERT INTO users (id, org_id, user_name, user_name_lower, external_id, display_name, display_name_lower,
                   name_given, name_family, active, custom_data, profile_extra, is_locked, mfa_enabled,
                   version, created_at, updated_at)
SELECT (i + 1) * 7919 + 268435456, 'default',
       'user' || lpad(i::text, 6, '0') || '@example.com', 'user' || lpad(i::text, 6, '0') || '@example.com',
       'ext-' || lpad(i::text, 6, '0'), 'User ' || lpad(i::text, 6, '0'), 'user ' || lpad(i::text, 6, '0'),
       'Given' || (i % 997), 'Family' || (i % 1009), TRUE, '{}', '{}', FALSE, FALSE, 1,
       timestamp '2025-01-01 00:00:00' + i * interval '1 minute',
       CASE WHEN i % 100 = 7 THEN timestamp '2025-01-01 00:00:00' + interval '700 days'
            ELSE timestamp '2025-01-01 00:00:00' + i * interval '1 minute' END
FROM generate_series(0, :n - 1) AS i;
INSERT INTO user_values (user_id, attribute, position, org_id, value, value_lower, type, is_primary)
SELECT (i + 1) * 7919 + 268435456, 'emails', 0, 'default',
       'user' || lpad(i::text, 6, '0') || '@work' || (i % 50) || '.example',
       'user' || lpad(i::text, 6, '0') || '@work' || (i % 50) || '.example', 'work', TRUE
FROM generate_series(0, :n - 1) AS i;
INSERT INTO user_values (user_id, attribute, position, org_id, value, value_lower, kind)
SELECT (i + 1) * 7919 + 268435456, 'urn:example:bench:2.0:User:costCenter', 0, 'default',
       'CC-' || lpad(i::text, 6, '0'), 'cc-' || lpad(i::text, 6, '0'), 's'
FROM generate_series(0, :n - 1) AS i;
COMMIT;
ANALYZE users;
ANALYZE user_values;
SQL
  python3 -c 'import sys; open(sys.argv[2], "w").writelines(f"{(i + 1) * 7919 + 0x10000000:016X}\n" for i in range(int(sys.argv[1])))' "$n" "$ids"
}

sanity() { # base ids-file size: a GET by id, a filter (totalResults 1) and a PATCH must succeed
  local base=$1 ids=$2 size=$3 id last
  id=$(head -n1 "$ids")
  curl -fsS -o /dev/null -H "Authorization: Bearer $TOKEN" "$base/scim/v2/Users/$id"
  last=$(printf 'user%06d@example.com' $((size - 1)))
  curl -fsS -G -H "Authorization: Bearer $TOKEN" --data-urlencode "filter=userName eq \"$last\"" "$base/scim/v2/Users" \
    | python3 -c 'import json,sys; t=json.load(sys.stdin)["totalResults"]; assert t == 1, t'
  curl -fsS -G -H "Authorization: Bearer $TOKEN" --data-urlencode "filter=urn:example:bench:2.0:User:costCenter eq \"cc-000000\"" "$base/scim/v2/Users" \
    | python3 -c 'import json,sys; t=json.load(sys.stdin)["totalResults"]; assert t == 1, t'
  curl -fsS -o /dev/null -X PATCH -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/scim+json' \
    -d '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"Bench"}]}' \
    "$base/scim/v2/Users/$id"
}

bench_muster() { # backend size database-url
  local backend=$1 size=$2 url=$3 ids="$work/ids-$1-$2.txt" port base started seeded
  started=$(date +%s.%N)
  "$BIN" migrate --database-url "$url" > /dev/null
  # The first command on a new database creates organization `default` (docs/configuration.md).
  case "$backend" in
    sqlite) seed_sqlite "${url#sqlite://}" "$size" "$ids" ;;
    postgres) seed_postgres "$url" "$size" "$ids" ;;
  esac
  seeded=$(python3 -c "import sys,time; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$started")
  log "== $backend, $size users (schema + seed + ANALYZE in ${seeded} s)"
  port=$(free_port)
  base="http://127.0.0.1:$port"
  local perf=()
  if [ -n "${MUSTER_BENCH_PERF:-}" ]; then
    mkdir -p "$MUSTER_BENCH_PERF"
    perf=(perf record -g -o "$MUSTER_BENCH_PERF/perf-$backend-$size.data" --)
  fi
  MUSTER_BOOTSTRAP_TOKEN="$TOKEN" RUST_LOG=warn "${perf[@]}" "$BIN" serve --database-url "$url" --bind "127.0.0.1:$port" \
    > "$work/server-$backend-$size.log" 2>&1 &
  SERVER_PID=$!
  wait_http "$base/healthz"
  curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"schema":{"id":"urn:example:bench:2.0:User","attributes":[{"name":"costCenter","type":"string"}]}}' \
    "$base/admin/v1/schemas"
  sanity "$base" "$ids" "$size"
  run_wrk healthz "$backend" "$size" "$base" healthz
  run_wrk auth_only "$backend" "$size" "$base" auth_only
  run_wrk get_by_id "$backend" "$size" "$base" by_id "$ids"
  run_wrk userName_eq "$backend" "$size" "$base" filter
  run_wrk ext_eq "$backend" "$size" "$base" ext_filter
  run_wrk page_100 "$backend" "$size" "$base" page
  run_wrk patch "$backend" "$size" "$base" patch "$ids"
  local rss
  rss=$(peak_rss_kb "$SERVER_PID")
  set_rss "$backend" "$size" "$rss"
  log "  peak RSS (VmHWM): $((rss / 1024)) MiB"
  stop_server "$SERVER_PID"
  SERVER_PID=""
  if grep -qiE 'panick|error' "$work/server-$backend-$size.log"; then
    log "  server log of $backend/$size has errors (first lines):"
    grep -iE 'panick|error' "$work/server-$backend-$size.log" | head -n 5 | tee -a "$OUT"
  fi
}

bench_reference() {
  local venv="${MUSTER_BENCH_VENV:-$work/ref-venv}" port base
  if [ ! -x "$venv/bin/scim2-server" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "scim2-server==$SCIM2_SERVER_VERSION"
  fi
  port=$(free_port)
  base="http://127.0.0.1:$port"
  "$venv/bin/scim2-server" --hostname 127.0.0.1 --port "$port" --bearer-token "$TOKEN" \
    > "$work/server-reference.log" 2>&1 &
  SERVER_PID=$!
  wait_http "$base/v2/ServiceProviderConfig" "Authorization: Bearer $TOKEN"
  local started seeded
  started=$(date +%s.%N)
  # The reference server keeps users in memory; it is seeded through its own SCIM POST,
  # 8 requests at a time, each bounded by a 10 s timeout, the whole by 15 minutes.
  timeout 900 python3 - "$base/v2" "$TOKEN" "$REF_USERS" "$work/ids-reference.txt" "$work/names-reference.txt" << 'PY'
import concurrent.futures, json, sys, urllib.request
base, token, n, ids_path, names_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]

def post(i):
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": f"user{i:06}@example.com", "externalId": f"ext-{i:06}",
        "displayName": f"User {i:06}", "name": {"givenName": f"Given{i % 997}", "familyName": f"Family{i % 1009}"},
        "active": True, "emails": [{"value": f"user{i:06}@work{i % 50}.example", "type": "work", "primary": True}],
    }
    req = urllib.request.Request(base + "/Users", data=json.dumps(body).encode(), method="POST", headers={
        "Authorization": "Bearer " + token, "Content-Type": "application/scim+json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 201, r.status
        return json.load(r)["id"], body["userName"]

with concurrent.futures.ThreadPoolExecutor(8) as pool:
    made = list(pool.map(post, range(n)))
with open(ids_path, "w") as f:
    f.writelines(i + "\n" for i, _ in made)
with open(names_path, "w") as f:
    f.writelines(u + "\n" for _, u in made)
PY
  seeded=$(python3 -c "import sys,time; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$started")
  log "== reference scim2-server $SCIM2_SERVER_VERSION, $REF_USERS users (seeded by SCIM POST in ${seeded} s)"
  run_wrk get_by_id reference "$REF_USERS" "$base" by_id "$work/ids-reference.txt" /v2
  run_wrk userName_eq reference "$REF_USERS" "$base" filter "$work/names-reference.txt" /v2
  local rss
  rss=$(peak_rss_kb "$SERVER_PID")
  set_rss reference "$REF_USERS" "$rss"
  log "  peak RSS (VmHWM): $((rss / 1024)) MiB"
  stop_server "$SERVER_PID"
  SERVER_PID=""
}

machine="$(nproc) cores, $(awk '/^MemTotal:/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
log "Muster throughput benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
log "machine: $machine; $(sed -n 's/^PRETTY_NAME="\(.*\)"$/\1/p' /etc/os-release 2> /dev/null)"
log "binary: $BIN ($(git rev-parse --short HEAD 2> /dev/null || echo '?')); $(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2)"
log "wrk: $THREADS threads, $CONNECTIONS connections, ${DURATION} s per workload after ${WARMUP} s of warm-up; sizes: $SIZES"

BACKENDS="${MUSTER_BENCH_BACKENDS:-sqlite postgres}"
for size in $SIZES; do
  [[ " $BACKENDS " == *" sqlite "* ]] || break
  bench_muster sqlite "$size" "sqlite://$work/bench-$size.db"
  rm -f "$work/bench-$size.db"*
done
if [[ " $BACKENDS " != *" postgres "* ]]; then
  log "PostgreSQL: not asked for (MUSTER_BENCH_BACKENDS)"
elif [ -n "$PG_ADMIN" ]; then
  log "PostgreSQL: $(psql "$PG_ADMIN" -tA -c 'SHOW server_version')"
  for size in $SIZES; do
    db="muster_bench_tp_$$_$size"
    psql "$PG_ADMIN" -q -c "CREATE DATABASE $db"
    PG_DBS+=("$db")
    bench_muster postgres "$size" "$(server_db_url "$PG_ADMIN" "$db")"
    psql "$PG_ADMIN" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
  done
else
  log "PostgreSQL: skipped (set MUSTER_BENCH_POSTGRES_URL or MUSTER_TEST_POSTGRES_URL)"
fi
if [ "$REF_USERS" -gt 0 ]; then
  bench_reference
fi

python3 - "$rows" << 'PY' | tee -a "$OUT"
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
ceiling = {(r[1], r[2]): float(r[3]) for r in rows if r[0] == "healthz"}
ref = {r[0]: float(r[3]) for r in rows if r[1] == "reference"}
head = ["workload", "backend", "size", "req/s", "p50 ms", "p99 ms", "peak RSS MiB", "/ healthz", "/ reference", "errors"]
out = []
for w, b, size, rps, p50, p99, rss, err in rows:
    rps = float(rps)
    c = ceiling.get((b, size))
    rr = ref.get(w)
    out.append([w, b, size, f"{rps:.0f}", f"{int(p50) / 1000:.2f}", f"{int(p99) / 1000:.2f}",
                f"{int(rss) / 1024:.0f}", f"{rps / c:.2f}" if c else "-",
                f"{rps / rr:.1f}" if rr and b != "reference" else "-", err])
print()
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for r in out:
    print("| " + " | ".join(r) + " |")
PY
echo "raw results: $OUT"
